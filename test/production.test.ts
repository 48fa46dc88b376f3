import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT, childEnv, compiled } from './cli.js'
import { build, tempDir, testEnv } from './helper.js'
import { NodeChild } from './scripts/child.js'
import { TestSocket, closedWithin } from './ws-client.js'

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com', WS_TEST_TOKEN: 'fixed-dev-token-0123456789' }

// The compiled server, what `npm start` runs after its build, for the last
// test. Started first, so that its start-up overlaps the in-process tests.
const SERVER = 'dist/src/server.js'
const serverDir = tempDir(t)
// The temp folder as the working directory keeps a developer's .env out of the child.
const server = new NodeChild(compiled(SERVER), { cwd: serverDir, env: childEnv({ ...testEnv(serverDir, PRODUCTION), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' }), end: true })
// Teardowns run last-added first: the server goes before its folder.
t.teardown(() => { server.process.kill('SIGKILL') })

t.test('production serves no test token, accepts none, and creates no demo user', async (t) => {
  const built = await build(t, PRODUCTION)
  t.equal(built.app.tokens.testToken, undefined)
  t.equal((await built.app.inject({ url: '/test-token' })).statusCode, 404)
  t.equal(await built.app.users.count(), 0, 'no demo user')
  await built.app.users.create({ username: 'user', passwordHash: await built.app.passwords.hash('a-real-password') })
  const me = await built.app.inject({ url: '/me', headers: { authorization: 'Bearer fixed-dev-token-0123456789' } })
  t.equal(me.statusCode, 401, 'WS_TEST_TOKEN is refused on REST')
  const socket = await TestSocket.open(`${built.wsUrl}/ws?token=fixed-dev-token-0123456789`)
  t.same(await closedWithin(socket), { code: 1008, reason: 'Invalid token' }, 'and on /ws')
  const login = await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'a-real-password' } })
  t.equal(login.statusCode, 200, 'real logins work')
})

t.test('a development test token is refused by a production server with the same secret', async (t) => {
  const dir = tempDir(t)
  const dev = await build(t, {}, { dir })
  const devToken = dev.app.tokens.testToken ?? ''
  t.ok(devToken !== '', 'development had one')
  // Production refuses to start while the demo account keeps its password.
  await dev.app.users.setPasswordHash('user', await dev.app.passwords.hash('a-real-password'))
  await dev.app.close()
  const prod = await build(t, { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }, { dir })
  const me = await prod.app.inject({ url: '/me', headers: { authorization: `Bearer ${devToken}` } })
  t.equal(me.statusCode, 401, 'no exp, so production refuses it')
})

t.test('a production start logs which protections are on', async (t) => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(scripts.start, `node ${SERVER}`, 'npm start runs the file this test starts')
  // Complete lines only: the last piece may still be arriving.
  const protections = (stdout: string): string | undefined => stdout.split('\n').slice(0, -1).find((l) => l.includes('"msg":"protections"'))
  await server.output((stdout) => protections(stdout) !== undefined, 'the protections line')
  const line = JSON.parse(protections(server.stdout) ?? '') as Record<string, unknown>
  t.match(line, { env: 'production', testTokens: 'off', demoUser: 'never created', jwtSecret: 'configured', corsOrigins: ['https://app.example.com'], trustProxy: false })
  const exit = await server.stop('SIGTERM')
  t.equal(exit.code, 0, 'SIGTERM closes gracefully')
})

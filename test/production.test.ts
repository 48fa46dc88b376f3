import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build, tempDir, testEnv } from './helper.js'
import { TestSocket, closedWithin } from './ws-client.js'

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com', WS_TEST_TOKEN: 'fixed-dev-token-0123456789' }
const root = fileURLToPath(new URL('..', import.meta.url))

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
  const dir = tempDir(t)
  const env = { ...process.env, ...testEnv(dir, PRODUCTION), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' }
  const child = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => { reject(new Error(`no protections line: ${buffered}`)) }, 20_000)
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const found = buffered.split('\n').find((l) => l.includes('"msg":"protections"'))
      if (found !== undefined) {
        clearTimeout(timer)
        resolve(JSON.parse(found) as Record<string, unknown>)
      }
    })
  })
  t.match(line, { env: 'production', testTokens: 'off', demoUser: 'never created', jwtSecret: 'configured', corsOrigins: ['https://app.example.com'], trustProxy: false })
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((resolve) => { child.on('exit', (c) => { resolve(c) }) })
  t.equal(code, 0, 'SIGTERM closes gracefully')
})

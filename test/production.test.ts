import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { parseCommand } from '../scripts/lib/users-args.js'
import { DEMO_ACCOUNT_FIX } from '../src/auth/demo-user.js'
import { ADD_ADMIN_COMMAND, ADD_ADMIN_SOURCE_COMMAND, NO_USERS_HINT } from '../src/first-user.js'
import { ROOT as ADMIN, loginAdmin } from './admin/admin.js'
import { ROOT, childEnv, compiled } from './cli.js'
import { build, tempDir, testEnv, type Built } from './helper.js'
import { NodeChild, logLine, runToEnd } from './scripts/child.js'
import { TestSocket, closedWithin, type Closed } from './ws-client.js'

// NODE_ENV=production: what it turns off, what it refuses to start with, and
// the compiled server (what `npm start` runs) as a child: its protections
// line and its graceful shutdown. Children start from a temp folder as their
// working directory, which keeps a developer's .env out of them.

const PRODUCTION_ENV = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }
const PRODUCTION = { ...PRODUCTION_ENV, WS_TEST_TOKEN: 'fixed-dev-token-0123456789' }
const SERVER = 'dist/src/server.js'

// The production server whose protections line a test below reads. Started
// first, so that its start-up overlaps the in-process tests. The login limits
// are left empty, which means their defaults (test/helper.ts's testEnv lifts them).
const serverDir = tempDir(t)
const server = new NodeChild(compiled(SERVER), {
  cwd: serverDir,
  env: childEnv({ ...testEnv(serverDir, PRODUCTION), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', TOKEN_RATE_LIMIT: '', LOGIN_IP_FAILURES_PER_MINUTE: '', LOGIN_FREE_FAILURES: '', LOGIN_USER_MAX_FAILURES: '' }),
  end: true
})
// Teardowns run last-added first: the server goes before its folder.
t.teardown(() => { server.process.kill('SIGKILL') })

// A server whose shutdown cannot finish: a request whose body never arrives
// keeps its connection, and so app.close(), waiting (its timeouts are set far
// away). Signalled as soon as it has that request, so that the 10 s bound
// runs out while the tests below run.
const stuckDir = tempDir(t)
const stuck = new NodeChild(compiled(SERVER), {
  cwd: stuckDir,
  env: childEnv({ ...testEnv(stuckDir), HOST: '127.0.0.1', PORT: '0', HTTP_REQUEST_TIMEOUT_MS: '600000', HTTP_CONNECTION_TIMEOUT_MS: '600000' }),
  end: true
})
t.teardown(() => { stuck.process.kill('SIGKILL') })
const stuckShutdown = (async () => {
  const listening = await logLine(stuck, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), 'the listening line')
  const port = Number(String(listening.msg).replace(/^.*:/, ''))
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')
  await logLine(stuck, (l) => l.msg === 'incoming request' && typeof l.req === 'object' && l.req !== null && (l.req as { url?: unknown }).url === '/token', 'the stalled request')
  const signalled = Date.now()
  stuck.process.kill('SIGTERM')
  const exit = await stuck.closed()
  return { exit, ms: Date.now() - signalled }
})()
// Awaited by its test below; a failure before then must not be an unhandled rejection.
stuckShutdown.catch(() => {})

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
  const prod = await build(t, PRODUCTION_ENV, { dir })
  const me = await prod.app.inject({ url: '/me', headers: { authorization: `Bearer ${devToken}` } })
  t.equal(me.statusCode, 401, 'no exp, so production refuses it')
})

t.test('the demo account user/password in production', async (t) => {
  /** A data folder whose database was first used in development: it holds the demo account. */
  async function developmentDatabase (t: Test): Promise<{ dir: string, dev: Built }> {
    const dir = tempDir(t)
    const dev = await build(t, {}, { dir })
    t.ok(await dev.app.users.findByUsername('user'), 'development created the demo account')
    return { dir, dev }
  }

  /** The status of a password login as the demo user. */
  async function demoLogin (built: Built, password: string): Promise<number> {
    const res = await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password } })
    return res.statusCode
  }

  t.test('production refuses to start over a database that still has user/password, naming the fix', async (t) => {
    const { dir, dev } = await developmentDatabase(t)
    await dev.app.close()
    await t.rejects(build(t, PRODUCTION_ENV, { dir }), { name: 'DemoAccountError', message: /npm run users -- passwd user/ })
    t.match(DEMO_ACCOUNT_FIX, 'npm run users -- disable user', 'and the other way out')
    // The commands it names are the users CLI's real syntax.
    for (const words of ['passwd user', 'disable user', 'delete user']) {
      const quoted = `npm run users -- ${words}`
      t.ok(DEMO_ACCOUNT_FIX.includes(words), `names "${quoted}"`)
      t.match(parseCommand(words.split(' ')), { name: words.split(' ')[0], user: 'user' }, `"${quoted}" parses`)
    }
  })

  t.test('the server process exits instead of serving, and says why', async (t) => {
    const { dir, dev } = await developmentDatabase(t)
    await dev.app.close()
    const child = new NodeChild(compiled(SERVER), { cwd: dir, env: childEnv({ ...testEnv(dir, PRODUCTION_ENV), HOST: '127.0.0.1', PORT: '0' }), end: true })
    t.teardown(() => { child.process.kill('SIGKILL') })
    // Killed, and a failure, if it has not exited by itself within CHILD_MS.
    const exit = await child.closed()
    const output = exit.stdout + exit.stderr
    t.not(exit.code, 0, `exit code ${String(exit.code)}`)
    t.match(output, 'npm run users -- passwd user', 'the output names the command that fixes it')
    t.notMatch(output, '"msg":"Server listening', 'it never listened')
  })

  t.test('after passwd, production starts; user/password gets 401 and the new password works', async (t) => {
    const { dir, dev } = await developmentDatabase(t)
    await t.rejects(build(t, PRODUCTION_ENV, { dir }), { name: 'DemoAccountError' }, 'refused while the password is the default')
    // What `npm run users -- passwd user` does to the row.
    await dev.app.users.setPasswordHash('user', await dev.app.passwords.hash('a-real-password-now'))
    await dev.app.close()
    const prod = await build(t, PRODUCTION_ENV, { dir })
    t.equal(await demoLogin(prod, 'password'), 401)
    t.equal(await demoLogin(prod, 'a-real-password-now'), 200)
  })

  t.test('after disable, production starts and the demo account cannot log in', async (t) => {
    const { dir, dev } = await developmentDatabase(t)
    await t.rejects(build(t, PRODUCTION_ENV, { dir }), { name: 'DemoAccountError' }, 'refused while it is enabled')
    await dev.app.users.setDisabled('user', true)
    await dev.app.close()
    const prod = await build(t, PRODUCTION_ENV, { dir })
    t.equal(await demoLogin(prod, 'password'), 401)
  })

  t.test('a demo account that appears while production runs is still refused; development still accepts it', async (t) => {
    const prod = await build(t, PRODUCTION_ENV)
    await prod.app.users.create({ username: 'user', passwordHash: await prod.app.passwords.hash('password') })
    const calls = prod.app.passwords.calls
    const res = await prod.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'password' } })
    t.equal(res.statusCode, 401)
    t.match(res.json(), { error: 'invalid_grant' })
    t.equal(prod.app.passwords.calls, calls, 'refused without bcrypt')
    t.match(prod.logs(), 'well-known password was refused', 'and logged as such')
    const dev = await build(t)
    t.equal(await demoLogin(dev, 'password'), 200, 'outside production the README\'s login works')
  })
})

t.test('a production start on an empty database says how to add the first admin, and that command works', async (t) => {
  const hint = await logLine(server, (l) => l.msg === NO_USERS_HINT, 'the no-users hint')
  t.equal(hint.level, 40, 'a warning')
  t.match(NO_USERS_HINT, 'docker compose exec app1 node dist/scripts/users.js add <name> --role admin', 'names the Compose form')
  t.equal(hint.sourceCommand, ADD_ADMIN_SOURCE_COMMAND)
  const words = String(hint.command).replace('<name>', 'root').split(' ')
  t.same(words.slice(0, 2), ['node', 'dist/scripts/users.js'], `the command runs the compiled CLI (${ADD_ADMIN_COMMAND})`)
  t.match(parseCommand(words.slice(2)), { name: 'add', user: 'root', roles: ['admin'] }, 'and is the CLI\'s real syntax')

  // Run as named, against the running server's database; the server picks the user up without a restart.
  const added = await runToEnd(compiled('dist/scripts/users.js'), { args: words.slice(2), input: 'first-admin-password-1\n', cwd: serverDir, env: childEnv(testEnv(serverDir, PRODUCTION)) })
  t.equal(added.code, 0, `the CLI added the admin\n${added.stderr}`)
  const listening = await logLine(server, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), 'the listening line')
  const url = String(listening.msg).replace('Server listening at ', '')
  const token = await login(url, 'root', 'first-admin-password-1')
  const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } })
  t.match(await me.json(), { username: 'root', roles: ['admin'] }, 'the new admin logs in to the running server')
})

t.test('a production start logs which protections are on: docs off and the login limits at their defaults', async (t) => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(scripts.start, `node ${SERVER}`, 'npm start runs the file this test starts')
  const line = await logLine(server, (l) => l.msg === 'protections', 'the protections line')
  t.match(line, { env: 'production', testTokens: 'off', demoUser: 'never created', jwtSecret: 'configured', corsOrigins: ['https://app.example.com'], trustProxy: false })
  t.match(line, {
    docs: 'off',
    tokenRateLimitPerMinute: 300,
    loginIpFailuresPerMinute: 10,
    loginFreeFailuresPerUserAndIp: 5,
    loginUserMaxFailures: '50 in 15 min',
    demoPassword: 'refused',
    httpTimeoutsMs: { request: 30000, headers: 10000, connection: 30000, keepAlive: 72000 },
    messagesRestMaxBytes: 65536,
    metrics: 'off (no METRICS_TOKEN)'
  }, 'and the new limits')
  const exit = await server.stop('SIGTERM')
  t.equal(exit.code, 0, 'SIGTERM closes gracefully')
})

/** A password login over real HTTP, for the server child. */
async function login (url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status}`)
  return ((await res.json()) as { access_token: string }).access_token
}

t.test('SIGTERM closes every socket with 1001, writes the audit queue and exits 0', async (t) => {
  const PIN = 'shutdown-test-admin-pin'
  const script = compiled(SERVER)
  const dir = tempDir(t)
  // The server's database, with an admin in it, made by the app itself.
  const seed = await build(t, {}, { dir })
  await loginAdmin(seed)
  await seed.app.close()

  // A long auth timeout: pending sockets must be closed by the shutdown, not by their timer.
  const env = childEnv({ ...testEnv(dir), HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: PIN, WS_AUTH_TIMEOUT_MS: '60000' })
  const child = new NodeChild(script, { cwd: dir, env, end: true })
  t.teardown(() => { child.process.kill('SIGKILL') })
  const listening = await logLine(child, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), 'the listening line')
  const protections = await logLine(child, (l) => l.msg === 'protections', 'the protections line')
  const url = String(listening.msg).replace('Server listening at ', '')
  t.match(protections, { wsMaxPending: 2000, wsMaxPendingPerIp: 20, wsMaxConnectionsPerIp: 1000, wsMaxSubscriptions: 100, adminPin: 'on', adminAuthFreeFailures: 5 }, 'the protections line lists the new limits')
  t.notOk(JSON.stringify(protections).includes(PIN), 'and not the PIN')

  const wsUrl = url.replace('http:', 'ws:')
  const userToken = await login(url, 'user', 'password')
  const adminToken = await login(url, ADMIN.username, ADMIN.password)
  const pending = await TestSocket.open(`${wsUrl}/ws`)
  const authenticating = await TestSocket.open(`${wsUrl}/ws`)
  const user = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`)
  const elevated = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`)
  elevated.send({ type: 'admin_auth', token: PIN })
  t.match(await elevated.next(), { type: 'admin_auth_response', success: true })
  const admin = await TestSocket.connect(`${wsUrl}/admin/ws?token=${adminToken}`)
  const marker = `shutdown-test/${process.pid}-${Date.now()}`
  const last = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`, { headers: { 'user-agent': marker } })
  last.send({ type: 'admin_auth', token: 'not-the-pin' })
  t.match(await last.next(), { type: 'admin_auth_response', success: false })
  // Sent right after that failure was recorded, well inside the audit log's 250 ms batching.
  authenticating.send({ type: 'authenticate', token: userToken })
  const signalled = Date.now()
  child.process.kill('SIGTERM')

  const sockets = { pending, authenticating, user, elevated, admin, last }
  const closes: Record<string, Closed> = {}
  for (const [name, socket] of Object.entries(sockets)) closes[name] = await closedWithin(socket, 8000)
  for (const [name, closed] of Object.entries(closes)) t.same(closed, { code: 1001, reason: 'Server shutting down' }, `${name} got 1001`)
  // Killed, and a failure, if it is still running after 9 s.
  const exit = await child.closed(9000)
  t.equal(exit.code, 0, 'the process exits 0')
  t.ok(Date.now() - signalled < 5000, `within 5 s of SIGTERM (took ${Date.now() - signalled} ms)`)

  const db = new Database(join(dir, 'test.db'), { readonly: true })
  t.teardown(() => { db.close() })
  const rows = db.prepare('SELECT kind, username, outcome FROM audit_log WHERE user_agent = ? AND kind = ?').all(marker, 'admin_auth')
  t.same(rows, [{ kind: 'admin_auth', username: 'user', outcome: 'failure' }], 'the audit row written just before shutdown is in the database')
})

t.test('a shutdown that cannot finish ends after 10 s with exit code 1 and a log line', async (t) => {
  const { exit, ms } = await stuckShutdown
  t.equal(exit.code, 1, 'exit code 1')
  t.match(exit.stdout, /"msg":"shutting down: closing sockets with 1001"/, 'the shutdown began')
  t.match(exit.stdout, /"level":50,[^\n]*"msg":"shutdown did not finish within 10000 ms; exiting with code 1"/, 'the bound is logged as an error')
  t.ok(ms >= 10_000 && ms < 20_000, `after the 10 s bound (${ms} ms)`)
})

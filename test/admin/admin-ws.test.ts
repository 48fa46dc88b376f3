import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ManualClock } from '../clock.js'
import { build, testEnv, type Built } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { auditMark, auditSince, loginAdmin, noSockets } from './admin.js'

const PIN = 'pin-4321-abcd'

// One app for the file: each test takes fresh logins and reads only the audit
// rows after its own mark. The manual clock drives admin elevation (and the
// message-rate buckets, which never run dry in these few messages); the
// smallest stats interval keeps the wait for a push short.
const clock = new ManualClock()
const built = await build(t, { STATS_INTERVAL_MS: '100', ADMIN_TOKEN: PIN }, { clock })
const admin = await loginAdmin(built)
const elevationMs = built.config.adminElevationSeconds * 1000

t.test('/admin/ws refuses non-admins with 1008 Forbidden and streams stats to admins', async (t) => {
  await noSockets(built)
  const { access_token: userToken } = await built.login()
  const refused = await TestSocket.open(`${built.wsUrl}/admin/ws?token=${userToken}`)
  t.same(await closedWithin(refused), { code: 1008, reason: 'Forbidden' })

  const socket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  const first = await socket.nextOfType('stats_update')
  t.match(first, { type: 'stats_update', instanceId: String, connections: 1, users: 1, pending: 0 })
  t.type(first.uptimeSeconds, 'number')
  // One instance: it is the only row, and the total is its own figures.
  t.match(first, { instances: [{ instanceId: first.instanceId, connections: 1 }], total: { instanceCount: 1, connections: 1, users: 1 } })
  t.equal((first.instances as unknown[]).length, 1)
  const other = await TestSocket.connect(`${built.wsUrl}/ws?token=${userToken}`)
  // A push taken before the join may still be on its way; a later one must count both.
  let seen = 0
  for (let i = 0; i < 10 && seen !== 2; i++) seen = (await socket.nextOfType('stats_update')).connections as number
  t.equal(seen, 2, 'the pushed count rises when a client connects')
  socket.send({ type: 'get_stats', requestId: 'q1' })
  t.match(await socket.nextOfType('stats_update'), { requestId: 'q1' })
  other.close()
  socket.close()
})

t.test('admin_auth with the PIN elevates a /ws socket; a wrong PIN does not; both are audited', async (t) => {
  const mark = await auditMark(built)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_command', command: 'stats' })
  t.match(await socket.next(), { type: 'error', code: 'forbidden' }, 'not elevated yet')
  socket.send({ type: 'admin_auth', token: 'wrong-pin' })
  t.match(await socket.next(), { type: 'admin_auth_response', success: false })
  socket.send({ type: 'admin_auth', token: PIN })
  const ok = await socket.next()
  t.match(ok, { type: 'admin_auth_response', success: true })
  t.equal(ok.expiresAt, Math.floor((clock.now() + 30 * 60_000) / 1000), 'elevated for 30 minutes')
  socket.send({ type: 'admin_command', command: 'stats' })
  t.match(await socket.next(), { type: 'stats_update' })
  const rows = await auditSince(built, 'admin_auth', mark)
  t.same(rows.map((r) => r.outcome), ['failure', 'success'])
  t.ok(rows.every((r) => r.username === 'user' && r.ip === '127.0.0.1'))
  t.notOk(built.logs().includes(PIN), 'the PIN is never logged')
  socket.close()
})

t.test('admin_auth with an admin access token works; with a user token it fails', async (t) => {
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_auth', token })
  t.match(await socket.next(), { type: 'admin_auth_response', success: false })
  socket.send({ type: 'admin_auth', token: admin })
  t.match(await socket.next(), { type: 'admin_auth_response', success: true })
  socket.close()
})

t.test('elevation expires after idle time and ends with the socket', async (t) => {
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_auth', token: PIN })
  t.match(await socket.next(), { success: true })
  // Together these idle spells outlast one elevation: only renewal keeps it.
  for (let i = 0; i < 3; i++) {
    clock.advance(elevationMs - 1000)
    socket.send({ type: 'get_stats' })
    t.match(await socket.next(), { type: 'stats_update' }, 'each command renews it')
  }
  clock.advance(elevationMs + 1000)
  socket.send({ type: 'get_stats' })
  t.match(await socket.next(), { type: 'error', code: 'forbidden' }, 'expired after idling')
  socket.close()
  const again = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  again.send({ type: 'get_stats' })
  t.match(await again.next(), { type: 'error', code: 'forbidden' }, 'a new socket starts unelevated')
  again.close()
})

t.test('kick closes every socket of a user, ends their sessions, and is audited', async (t) => {
  const mark = await auditMark(built)
  const victim = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${victim.access_token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${victim.access_token}`)
  const console = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  console.send({ type: 'admin_command', command: 'kick', user: 'user', requestId: 'k1' })
  t.same(await closedWithin(a), { code: 1008, reason: 'Session revoked' })
  t.same(await closedWithin(b), { code: 1008, reason: 'Session revoked' })
  t.match(await console.nextOfType('admin_command_result'), { command: 'kick', user: 'user', ok: true, requestId: 'k1' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: victim.refresh_token } })
  t.equal(refresh.statusCode, 400, 'the kicked session cannot refresh')
  const rows = await auditSince(built, 'admin_action', mark)
  t.equal(rows.length, 1)
  t.match(rows[0], { username: 'root', outcome: 'success', reason: 'kick user' })
  console.close()
})

t.test('broadcast sends a system message to everyone', async (t) => {
  const { access_token: token } = await built.login()
  const listener = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const console = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  console.send({ type: 'admin_command', command: 'broadcast', message: 'maintenance at noon' })
  const got = await listener.nextOfType('system')
  t.match(got, { type: 'system', message: 'maintenance at noon', user: 'system' })
  t.type(got.requestId, 'string')
  console.send({ type: 'admin_command', command: 'explode' })
  t.match(await console.nextOfType('error'), { code: 'invalid_message' })
  listener.close()
  console.close()
})

t.test('GET /admin/stats and the failure counters', async (t) => {
  await noSockets(built)
  const mark = await auditMark(built)
  const { access_token: token } = await built.login()
  const stats = async (): Promise<Record<string, unknown>> => {
    const res = await built.app.inject({ url: '/admin/stats', headers: { authorization: `Bearer ${admin}` } })
    t.equal(res.statusCode, 200)
    return res.json()
  }
  // Relative to the start, so that failures earlier in this app's minute do not count.
  const before = await stats()
  const bad = await TestSocket.open(`${built.wsUrl}/ws?token=nope`)
  await closedWithin(bad)
  t.match(await stats(), { authFailuresLastMinute: (before.authFailuresLastMinute as number) + 1, connections: 0 })
  const forbidden = await built.app.inject({ url: '/admin/stats', headers: { authorization: `Bearer ${token}` } })
  t.equal(forbidden.statusCode, 403)
  const rows = await auditSince(built, 'ws_auth', mark)
  t.equal(rows.length, 1)
  t.match(rows[0], { outcome: 'failure', ip: '127.0.0.1', reason: /Invalid token/ })
})

t.test('a failed login is audited with the name as given', async (t) => {
  const mark = await auditMark(built)
  await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'ghost', password: 'boo' }, headers: { 'user-agent': 'probe/1.0' } })
  const rows = (await auditSince(built, 'password_grant', mark)).filter((r) => r.outcome === 'failure')
  t.equal(rows.length, 1)
  t.match(rows[0], { username: 'ghost', ip: '127.0.0.1', userAgent: 'probe/1.0' })
})

// The admin_auth lockout: each test has an app of its own, since the failure
// counts it drives (and the clock they run on) must start from zero.

const LOCKOUT_PIN = 'correct-horse-battery-staple'

async function socketsOf (built: Built, token: string, count: number, ip?: string): Promise<TestSocket[]> {
  const headers: Record<string, string> = ip === undefined ? {} : { 'x-forwarded-for': ip }
  const sockets: TestSocket[] = []
  for (let i = 0; i < count; i++) sockets.push(await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`, { headers }))
  return sockets
}

async function adminAuth (socket: TestSocket, token: string): Promise<Json> {
  socket.send({ type: 'admin_auth', token })
  return await socket.nextOfType('admin_auth_response')
}

const locked = (response: Json): boolean => typeof response.retryAfterSeconds === 'number'

async function auditFailures (built: Built): Promise<number> {
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind: 'admin_auth', outcome: 'failure', limit: 500 })
  return page.items.length
}

t.test('admin_auth lockout', async (t) => {
  t.test('a burst of wrong PINs over many sockets gets five free guesses and one more, then waits that double', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, { ADMIN_TOKEN: LOCKOUT_PIN }, { clock })
    const { access_token: token } = await built.login()
    const sockets = await socketsOf(built, token, 4)
    // Sent all at once, spread over the user's sockets: none waits for an answer.
    for (let i = 0; i < 24; i++) sockets[i % 4]?.send({ type: 'admin_auth', token: `guess-${i}`, requestId: `g${i}` })
    const answers: Json[] = []
    for (const socket of sockets) for (let i = 0; i < 6; i++) answers.push(await socket.nextOfType('admin_auth_response'))
    t.equal(answers.filter((a) => a.success === true).length, 0)
    t.equal(answers.filter((a) => !locked(a)).length, 6, 'five free failures and the one that starts the wait were checked')
    t.match(answers.filter(locked)[0], { success: false, error: /wait 1 s/, retryAfterSeconds: 1 })

    const refused = await adminAuth(sockets[0] as TestSocket, LOCKOUT_PIN)
    t.match(refused, { success: false, retryAfterSeconds: 1 }, 'even the right PIN is refused while locked out')
    sockets[0]?.send({ type: 'admin_command', command: 'stats' })
    t.match(await sockets[0]?.next(), { type: 'error', code: 'forbidden' }, 'and the socket is not elevated')

    clock.advance(1000)
    t.match(await adminAuth(sockets[1] as TestSocket, 'guess-again'), { success: false, error: 'Admin authentication failed' }, 'after the wait one more guess is checked')
    t.match(await adminAuth(sockets[1] as TestSocket, LOCKOUT_PIN), { success: false, retryAfterSeconds: 2 }, 'and the next wait is twice as long')
    clock.advance(1000)
    t.match(await adminAuth(sockets[2] as TestSocket, LOCKOUT_PIN), { success: false, retryAfterSeconds: 1 })
    clock.advance(1000)
    t.match(await adminAuth(sockets[2] as TestSocket, LOCKOUT_PIN), { success: true }, 'once the wait is over the right PIN works')

    // A success resets the count: five more failures are all checked again.
    for (let i = 0; i < 5; i++) t.notOk(locked(await adminAuth(sockets[3] as TestSocket, `after-${i}`)), `failure ${i + 1} after the success is checked`)
    t.equal(await auditFailures(built), 24 + 1 + 1 + 2 + 5, 'every failure is audited, refused ones included')
    for (const socket of sockets) socket.close()
  })

  t.test('the count is per user across addresses and per address across users', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, { ADMIN_TOKEN: LOCKOUT_PIN, TRUST_PROXY: 'true' }, { clock })
    await built.app.users.create({ username: 'other', passwordHash: await built.app.passwords.hash('other-password') })
    const user = (await built.login()).access_token
    const other = (await built.login('other', 'other-password')).access_token
    const [userAtA] = await socketsOf(built, user, 1, '203.0.113.1')
    for (let i = 0; i < 6; i++) t.notOk(locked(await adminAuth(userAtA as TestSocket, `wrong-${i}`)), `guess ${i + 1} checked`)
    t.ok(locked(await adminAuth(userAtA as TestSocket, LOCKOUT_PIN)), 'user at A is locked out')

    const [userAtB] = await socketsOf(built, user, 1, '203.0.113.2')
    t.match(await adminAuth(userAtB as TestSocket, LOCKOUT_PIN), { success: false, retryAfterSeconds: 1 }, 'the same user from another address waits too')
    const [otherAtA] = await socketsOf(built, other, 1, '203.0.113.1')
    t.match(await adminAuth(otherAtA as TestSocket, LOCKOUT_PIN), { success: false, retryAfterSeconds: 1 }, 'another user from the same address waits too')
    const [otherAtC] = await socketsOf(built, other, 1, '203.0.113.3')
    t.match(await adminAuth(otherAtC as TestSocket, LOCKOUT_PIN), { success: true }, 'another user from another address is unaffected')
    for (const socket of [userAtA, userAtB, otherAtA, otherAtC]) socket?.close()
  })

  t.test('the reported attack: a 4-digit PIN guessed over 54 sockets is not found, and kick stays forbidden', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, { ADMIN_TOKEN: '4827' }, { clock })
    t.match(built.logs(), /ADMIN_TOKEN is short enough to guess/, 'outside production a short PIN only warns')
    const attacker = (await built.login()).access_token
    await built.app.users.create({ username: 'victim', passwordHash: await built.app.passwords.hash('victim-password') })
    const victim = await TestSocket.connect(`${built.wsUrl}/ws?token=${(await built.login('victim', 'victim-password')).access_token}`)
    const sockets = await socketsOf(built, attacker, 54)
    // 88 guesses a socket stays inside the default message burst; 2400..7151 holds the PIN.
    const perSocket = 88
    sockets.forEach((socket, s) => {
      for (let i = 0; i < perSocket; i++) socket.send({ type: 'admin_auth', token: String(2400 + s * perSocket + i).padStart(4, '0') })
    })
    let checked = 0
    let succeeded = 0
    for (const socket of sockets) {
      for (let i = 0; i < perSocket; i++) {
        const answer = await socket.nextOfType('admin_auth_response', 10_000)
        if (answer.success === true) succeeded++
        if (!locked(answer)) checked++
      }
    }
    t.equal(succeeded, 0, 'the right PIN was among the 4 752 guesses and was still refused')
    t.equal(checked, 6, 'only six guesses were ever compared')
    sockets[0]?.send({ type: 'admin_command', command: 'kick', user: 'victim' })
    t.match(await sockets[0]?.nextOfType('error'), { code: 'forbidden' }, 'kick is refused')
    t.same(await victim.receivedBeforePong(), [], 'the victim is still connected and was sent nothing')
    t.notOk(built.logs().includes('"4827"'), 'the PIN is never logged')
    for (const socket of [...sockets, victim]) socket.close()
  })

  t.test('production refuses an ADMIN_TOKEN shorter than 16 characters and says why', async (t) => {
    const production = { ...testEnv('/tmp/unused'), NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }
    const err = t.throws(() => loadConfig({ ...production, ADMIN_TOKEN: 'abcd-1234-efgh' })) as ConfigError
    t.ok(err instanceof ConfigError)
    t.match(err.problems, [/ADMIN_TOKEN must be at least 16 characters when NODE_ENV=production \(got 14\)/])
    t.notOk(err.message.includes('abcd-1234-efgh'), 'the refused PIN is not repeated')
    t.equal(loadConfig({ ...production, ADMIN_TOKEN: 'abcd-1234-efgh-5' }).adminToken, 'abcd-1234-efgh-5', '16 characters are enough')
    t.equal(loadConfig({ ...testEnv('/tmp/unused'), NODE_ENV: 'development', ADMIN_TOKEN: '4827' }).adminToken, '4827', 'development accepts it')
  })

  t.test('the lockout has configurable defaults', async (t) => {
    const config = loadConfig(testEnv('/tmp/unused'))
    t.equal(config.adminAuthFreeFailures, 5)
    t.equal(config.adminAuthMaxBackoffSeconds, 3600)
    t.throws(() => loadConfig(testEnv('/tmp/unused', { ADMIN_AUTH_FREE_FAILURES: 'many' })), /ADMIN_AUTH_FREE_FAILURES must be a whole number/)
  })
})

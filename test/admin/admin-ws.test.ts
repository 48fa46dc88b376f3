import t from 'tap'
import { ManualClock } from '../clock.js'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
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

import t from 'tap'
import { build, type Built } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

async function makeAdmin (built: Built): Promise<string> {
  await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
  return (await built.login('root', 'root-password')).access_token
}

async function auditRows (built: Built, kind: string): Promise<Array<Record<string, unknown>>> {
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind: kind as 'ws_auth' })
  return page.items as unknown as Array<Record<string, unknown>>
}

t.test('/admin/ws refuses non-admins with 1008 Forbidden and streams stats to admins', async (t) => {
  const built = await build(t, { STATS_INTERVAL_MS: '150' })
  const admin = await makeAdmin(built)
  const { access_token: userToken } = await built.login()
  const refused = await TestSocket.open(`${built.wsUrl}/admin/ws?token=${userToken}`)
  t.same(await closedWithin(refused), { code: 1008, reason: 'Forbidden' })

  const socket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  const first = await socket.nextOfType('stats_update')
  t.match(first, { type: 'stats_update', instanceId: String, connections: 1, users: 1, pending: 0 })
  t.type(first.uptimeSeconds, 'number')
  const other = await TestSocket.connect(`${built.wsUrl}/ws?token=${userToken}`)
  let seen = 0
  for (let i = 0; i < 10 && seen !== 2; i++) seen = (await socket.nextOfType('stats_update')).connections as number
  t.equal(seen, 2, 'the pushed count rises when a client connects')
  socket.send({ type: 'get_stats', requestId: 'q1' })
  t.match(await socket.nextOfType('stats_update'), { requestId: 'q1' })
  other.close()
  socket.close()
})

t.test('admin_auth with the PIN elevates a /ws socket; a wrong PIN does not; both are audited', async (t) => {
  const built = await build(t, { ADMIN_TOKEN: 'pin-4321-abcd' })
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_command', command: 'stats' })
  t.match(await socket.next(), { type: 'error', code: 'forbidden' }, 'not elevated yet')
  socket.send({ type: 'admin_auth', token: 'wrong-pin' })
  t.match(await socket.next(), { type: 'admin_auth_response', success: false })
  socket.send({ type: 'admin_auth', token: 'pin-4321-abcd' })
  const ok = await socket.next()
  t.match(ok, { type: 'admin_auth_response', success: true })
  t.ok((ok.expiresAt as number) > Date.now() / 1000 + 1700, 'elevated for 30 minutes')
  socket.send({ type: 'admin_command', command: 'stats' })
  t.match(await socket.next(), { type: 'stats_update' })
  const rows = await auditRows(built, 'admin_auth')
  t.same(rows.map((r) => r.outcome).sort(), ['failure', 'success'])
  t.ok(rows.every((r) => r.username === 'user' && r.ip === '127.0.0.1'))
  t.notOk(built.logs().includes('pin-4321-abcd'), 'the PIN is never logged')
  socket.close()
})

t.test('admin_auth with an admin access token works; with a user token it fails', async (t) => {
  const built = await build(t)
  const admin = await makeAdmin(built)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_auth', token })
  t.match(await socket.next(), { type: 'admin_auth_response', success: false })
  socket.send({ type: 'admin_auth', token: admin })
  t.match(await socket.next(), { type: 'admin_auth_response', success: true })
  socket.close()
})

t.test('elevation expires after idle time and ends with the socket', async (t) => {
  const built = await build(t, { ADMIN_TOKEN: 'pin-1', ADMIN_ELEVATION_SECONDS: '1' })
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_auth', token: 'pin-1' })
  t.match(await socket.next(), { success: true })
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 600))
    socket.send({ type: 'get_stats' })
    t.match(await socket.next(), { type: 'stats_update' }, 'each command renews it')
  }
  await new Promise((resolve) => setTimeout(resolve, 1200))
  socket.send({ type: 'get_stats' })
  t.match(await socket.next(), { type: 'error', code: 'forbidden' }, 'expired after idling')
  socket.close()
  const again = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  again.send({ type: 'get_stats' })
  t.match(await again.next(), { type: 'error', code: 'forbidden' }, 'a new socket starts unelevated')
  again.close()
})

t.test('kick closes every socket of a user, ends their sessions, and is audited', async (t) => {
  const built = await build(t)
  const admin = await makeAdmin(built)
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
  const rows = await auditRows(built, 'admin_action')
  t.match(rows[0], { username: 'root', outcome: 'success', reason: 'kick user' })
  console.close()
})

t.test('broadcast sends a system message to everyone', async (t) => {
  const built = await build(t)
  const admin = await makeAdmin(built)
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
  const built = await build(t)
  const admin = await makeAdmin(built)
  const { access_token: token } = await built.login()
  const bad = await TestSocket.open(`${built.wsUrl}/ws?token=nope`)
  await closedWithin(bad)
  const res = await built.app.inject({ url: '/admin/stats', headers: { authorization: `Bearer ${admin}` } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { authFailuresLastMinute: 1, connections: 0 })
  const forbidden = await built.app.inject({ url: '/admin/stats', headers: { authorization: `Bearer ${token}` } })
  t.equal(forbidden.statusCode, 403)
  const rows = await auditRows(built, 'ws_auth')
  t.match(rows[0], { outcome: 'failure', ip: '127.0.0.1', reason: /Invalid token/ })
})

t.test('a failed login is audited with the name as given', async (t) => {
  const built = await build(t)
  await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'ghost', password: 'boo' }, headers: { 'user-agent': 'probe/1.0' } })
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind: 'password_grant', outcome: 'failure' })
  t.match(page.items[0], { username: 'ghost', ip: '127.0.0.1', userAgent: 'probe/1.0' })
})

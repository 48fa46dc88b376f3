import t from 'tap'
import { io } from 'socket.io-client'
import { build } from '../helper.js'
import { ManualClock } from '../clock.js'
import { TestSocket } from '../ws-client.js'
import { auditMark, auditSince, call, loginAdmin } from '../admin/admin.js'
import { IoTestClient, disconnectedWithin } from './io-client.js'

// The second seed flow: a Socket.IO socket elevated by admin_auth, then
// admin-only events, under the rules and the lockout of /ws.

const PIN = 'socket-io-admin-pin-0123456789'
const ELEVATION_SECONDS = 1800
const clock = new ManualClock()
const built = await build(t, { SOCKETIO_ENABLED: 'true', ADMIN_TOKEN: PIN, ADMIN_ELEVATION_SECONDS: String(ELEVATION_SECONDS), ADMIN_AUTH_FREE_FAILURES: '1' }, { clock })
const password = 'bob-password'
await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash(password) })

t.test('the second seed flow, verbatim: admin_auth with the PIN, then admin_command', async (t) => {
  const { access_token: token } = await built.login()
  const mark = await auditMark(built)
  const socket = io(built.url, { auth: { token } })
  const client = await IoTestClient.of(socket)
  t.teardown(() => { client.close() })
  const watcher = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.teardown(() => { watcher.close() })

  const answered = new Promise((resolve) => { socket.once('admin_auth_response', resolve) })
  socket.emit('admin_auth', { token: PIN })
  t.match(await answered, { type: 'admin_auth_response', success: true, expiresAt: Math.floor(clock.now() / 1000) + ELEVATION_SECONDS })
  // The test client's queue holds it too.
  t.match(await client.next(), { event: 'admin_auth_response' })

  socket.emit('admin_command', { command: 'broadcast', message: 'maintenance at noon' })
  const system = await watcher.next()
  t.match(system, { type: 'system', message: 'maintenance at noon', user: 'system' }, 'the broadcast reaches /ws')
  // Fan-out is synchronous, so the message comes before the command's result.
  t.same(await client.next(), { event: 'message', payload: system }, 'and Socket.IO, as the same JSON')
  t.match(await client.next(), { event: 'admin_command_result', payload: { command: 'broadcast', ok: true } })

  socket.emit('get_stats')
  t.match(await client.nextOf('stats_update'), { type: 'stats_update' }, 'get_stats answers with stats_update')

  t.match(await auditSince(built, 'admin_auth', mark), [{ username: 'user', ip: '127.0.0.1', outcome: 'success', reason: 'admin PIN' }], 'audited as on /ws')
})

t.test('admin events need elevation; each renews it; it lapses after idle time and with the socket', async (t) => {
  const { access_token: token } = await built.login()
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  client.emit('admin_command', { command: 'stats' })
  t.match(await client.nextOf('error'), { code: 'forbidden', message: 'Admin only: send admin_auth first' })
  client.emit('admin_auth', { token: PIN })
  t.match(await client.nextOf('admin_auth_response'), { success: true })
  clock.advance(ELEVATION_SECONDS * 1000 - 1000)
  client.emit('admin_command', { command: 'stats' })
  t.match(await client.nextOf('stats_update'), { type: 'stats_update' }, 'just before it lapses: renewed')
  clock.advance(ELEVATION_SECONDS * 1000 - 1000)
  client.emit('get_stats')
  t.match(await client.nextOf('stats_update'), { type: 'stats_update' }, 'still elevated, thanks to the renewal')
  clock.advance(ELEVATION_SECONDS * 1000 + 1)
  client.emit('get_stats')
  t.match(await client.nextOf('error'), { code: 'forbidden' }, 'idle past the elevation: refused')
  client.emit('admin_auth', { token: PIN })
  t.match(await client.nextOf('admin_auth_response'), { success: true })
  client.close()
  const again = await IoTestClient.connect(built.url, { auth: { token } })
  again.emit('get_stats')
  t.match(await again.nextOf('error'), { code: 'forbidden' }, 'a new socket starts unelevated')
  again.close()
})

t.test('kick reaches the user\'s sockets of both kinds', async (t) => {
  const { access_token: token } = await built.login()
  const bob = (await built.login('bob', password)).access_token
  const admin = await IoTestClient.connect(built.url, { auth: { token } })
  const bobIo = await IoTestClient.connect(built.url, { auth: { token: bob } })
  const bobWs = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob}`)
  t.teardown(() => { admin.close() })
  admin.emit('admin_auth', { token: PIN })
  t.match(await admin.nextOf('admin_auth_response'), { success: true })
  admin.emit('admin_command', { command: 'kick', user: 'bob' })
  t.match(await admin.nextOf('admin_command_result'), { command: 'kick', user: 'bob', ok: true })
  t.match(await bobIo.nextOf('disconnect_reason'), { reason: 'Session revoked', code: 'session_revoked' })
  t.equal(await disconnectedWithin(bobIo), 'io server disconnect')
  t.match(await bobWs.closed, { code: 1008, reason: 'Session revoked' })
  t.equal((await IoTestClient.refused(built.url, { auth: { token: bob } })).message, 'Session revoked', 'and cannot come back with that token')
})

t.test('an elevation an admin\'s token made ends when that admin loses the role', async (t) => {
  await built.app.users.create({ username: 'dora', passwordHash: await built.app.passwords.hash('dora-password'), roles: ['admin'] })
  const { access_token: dora } = await built.login('dora', 'dora-password')
  const { access_token: token } = await built.login()
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  t.teardown(() => { client.close() })
  client.emit('admin_auth', { token: dora })
  t.match(await client.nextOf('admin_auth_response'), { success: true })
  client.emit('get_stats')
  t.match(await client.nextOf('stats_update'), { type: 'stats_update' }, 'elevated by dora\'s token')
  const root = await loginAdmin(built)
  t.equal((await call(built, root, { method: 'PUT', url: '/admin/users/dora/roles', payload: { roles: [] } })).statusCode, 200)
  client.emit('get_stats')
  t.match(await client.nextOf('error'), { code: 'forbidden', message: 'Admin only: send admin_auth first' }, 'no longer')
})

t.test('the admin_auth lockout counts failures from both kinds of socket', async (t) => {
  const { access_token: token } = await built.login()
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  t.teardown(() => { ws.close(); client.close() })
  ws.send({ type: 'admin_auth', token: 'wrong-pin-1' })
  t.match(await ws.next(), { type: 'admin_auth_response', success: false })
  client.emit('admin_auth', { token: 'wrong-pin-2' })
  t.match(await client.nextOf('admin_auth_response'), { success: false })
  client.emit('admin_auth', { token: PIN })
  t.match(await client.nextOf('admin_auth_response'), { success: false, retryAfterSeconds: Number, error: /Too many failed admin_auth attempts/ }, 'locked out, the right PIN included')
  ws.send({ type: 'admin_auth', token: PIN })
  t.match(await ws.next(), { type: 'admin_auth_response', success: false, retryAfterSeconds: Number }, 'on /ws as well')
})

import t from 'tap'
import { build, waitFor } from '../helper.js'
import { freshPostgres, redisPrefix, REDIS_TEST_URL } from '../services.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { IoTestClient, disconnectedWithin } from './io-client.js'

// Two instances on one Postgres and one Redis: Socket.IO sockets go through
// wsgate's own broker like /ws ones (no Socket.IO adapter), for fan-out,
// revocation and the per-user count.

const MAX_PER_USER = 2
const env = {
  SOCKETIO_ENABLED: 'true',
  DATABASE_URL: await freshPostgres(t),
  REDIS_URL: REDIS_TEST_URL,
  REDIS_KEY_PREFIX: redisPrefix(),
  WS_MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER),
  // Far beyond the test: a socket closed by a revocation was closed by the broker, not the sweep.
  WS_REVALIDATE_INTERVAL_MS: '3600000'
}
const a = await build(t, env)
const b = await build(t, env)

t.test('a message crosses instances and kinds, stamped identically', async (t) => {
  const { access_token: token } = await a.login()
  const ioOnA = await IoTestClient.connect(a.url, { auth: { token } })
  const wsOnB = await TestSocket.connect(`${b.wsUrl}/ws?token=${token}`)
  t.teardown(() => { ioOnA.close(); wsOnB.close() })
  ioOnA.emit('chat', { text: 'from socket.io on a' })
  const atB = await wsOnB.next(5000)
  t.match(atB, { type: 'chat', text: 'from socket.io on a', user: 'user', channel: 'global' })
  t.same(await ioOnA.nextOf('message'), atB, 'the sender on a got the same JSON')
  wsOnB.send({ type: 'chat', text: 'from /ws on b' })
  const echo = await wsOnB.next()
  t.same(await ioOnA.nextOf('message', 5000), echo, 'the /ws message from b reaches Socket.IO on a')
})

t.test('a revocation on one instance disconnects a Socket.IO socket on the other', async (t) => {
  const tokens = await a.login()
  const ioOnA = await IoTestClient.connect(a.url, { auth: { token: tokens.access_token } })
  await b.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: tokens.refresh_token } })
  t.match(await ioOnA.nextOf('disconnect_reason', 5000), { reason: 'Session revoked', code: 'session_revoked' })
  t.equal(await disconnectedWithin(ioOnA, 5000), 'io server disconnect')
})

t.test('the per-user limit counts both kinds on every instance', async (t) => {
  const { access_token: token } = await a.login()
  await waitFor(() => a.app.hub.size === 0 && b.app.hub.size === 0, 5000, 'earlier sockets gone')
  const wsOnA = await TestSocket.connect(`${a.wsUrl}/ws?token=${token}`)
  const ioOnB = await IoTestClient.connect(b.url, { auth: { token } })
  t.same(await IoTestClient.refused(a.url, { auth: { token } }), { message: 'Too many connections', data: { code: 'too_many_connections', closeCode: 1013 } }, 'a third socket, on a, is refused')
  const wsOnB = await TestSocket.open(`${b.wsUrl}/ws?token=${token}`)
  t.same(await closedWithin(wsOnB), { code: 1013, reason: 'Too many connections' }, 'so is a /ws one on b')
  ioOnB.close()
  // The place is given back in Redis once b has seen the disconnect.
  await waitFor(() => b.app.hub.size === 0, 5000, 'b let go')
  let again: IoTestClient | undefined
  for (const deadline = Date.now() + 5000; again === undefined && Date.now() < deadline;) {
    again = await IoTestClient.connect(a.url, { auth: { token } }).catch(() => undefined)
  }
  t.ok(again, 'the freed place is taken on the other instance')
  again?.close()
  wsOnA.close()
})

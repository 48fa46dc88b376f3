import t from 'tap'
import { build, waitFor } from '../helper.js'
import { ManualClock } from '../clock.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { IoTestClient, disconnectedWithin } from './io-client.js'

// The limits of /ws hold for Socket.IO sockets, and the per-user one counts both kinds together.

const MAX_PER_USER = 3
const clock = new ManualClock()
const built = await build(t, { SOCKETIO_ENABLED: 'true', WS_MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER), WS_MESSAGES_PER_SECOND: '1', WS_MESSAGE_BURST: '2' }, { clock })
const hub = built.app.hub
const { access_token: token } = await built.login()

t.test('sockets per user count both kinds', async (t) => {
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const io1 = await IoTestClient.connect(built.url, { auth: { token } })
  const io2 = await IoTestClient.connect(built.url, { auth: { token }, transports: ['polling'] })
  t.equal(hub.connectionsOf('user'), MAX_PER_USER)
  t.same(await IoTestClient.refused(built.url, { auth: { token } }), { message: 'Too many connections', data: { code: 'too_many_connections', closeCode: 1013 } }, 'a Socket.IO socket over the limit')
  const extraWs = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`)
  t.same(await closedWithin(extraWs), { code: 1013, reason: 'Too many connections' }, 'a /ws socket over the limit')
  io1.close()
  await waitFor(() => hub.connectionsOf('user') === MAX_PER_USER - 1, 3000, 'a place freed')
  const io3 = await IoTestClient.connect(built.url, { auth: { token } })
  t.pass('a freed place is taken again')
  for (const s of [ws, io2, io3]) s.close()
  await waitFor(() => hub.size === 0, 3000, 'all gone')
})

t.test('a burst of handshakes cannot pass the limit together', async (t) => {
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, async () => await IoTestClient.connect(built.url, { auth: { token } })))
  const connected = outcomes.flatMap((o) => o.status === 'fulfilled' ? [o.value] : [])
  t.equal(connected.length, MAX_PER_USER, 'exactly the limit connected')
  t.equal(hub.connectionsOf('user'), MAX_PER_USER)
  t.ok(outcomes.every((o) => o.status === 'fulfilled' || (o.reason as Error).message === 'Too many connections'), 'the rest were told why')
  for (const c of connected) c.close()
  await waitFor(() => hub.size === 0, 3000, 'all gone')
})

t.test('the message rate per socket: a warning, then a disconnect', async (t) => {
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  const other = await IoTestClient.connect(built.url, { auth: { token } })
  t.teardown(() => { other.close() })
  client.emit('chat', { n: 1 })
  client.emit('chat', { n: 2 })
  t.match(await client.nextOf('message'), { n: 1 })
  t.match(await client.nextOf('message'), { n: 2 })
  client.emit('chat', { n: 3 })
  t.match(await client.nextOf('error'), { code: 'rate_limited' }, 'over the burst: warned')
  client.emit('chat', { n: 4 })
  t.same(await client.nextOf('disconnect_reason'), { type: 'disconnect_reason', reason: 'Rate limit exceeded', code: 'rate_limited', closeCode: 1008 })
  t.equal(await disconnectedWithin(client), 'io server disconnect')
  other.emit('chat', { n: 5 })
  const before = await other.until((item) => item.event === 'message' && item.payload.n === 5)
  t.same(before.map((item) => item.payload.n), [1, 2], 'another socket of the same user has its own bucket, and saw only what was let through')
})

t.test('sockets per IP count both kinds: WS_MAX_CONNECTIONS_PER_IP', async (t) => {
  const capped = await build(t, { SOCKETIO_ENABLED: 'true', WS_MAX_CONNECTIONS_PER_IP: '2' })
  const { access_token: own } = await capped.login()
  const ws = await TestSocket.connect(`${capped.wsUrl}/ws?token=${own}`)
  const io1 = await IoTestClient.connect(capped.url, { auth: { token: own } })
  t.same(await IoTestClient.refused(capped.url, { auth: { token: own } }), { message: 'Too many connections', data: { code: 'too_many_connections', closeCode: 1013 } }, 'a third, over Socket.IO, is refused')
  await t.rejects(TestSocket.open(`${capped.wsUrl}/ws?token=${own}`), /429/, 'and so is a third over /ws')
  io1.close()
  await waitFor(() => capped.app.hub.size === 1, 3000, 'the Socket.IO place is given back')
  const io2 = await IoTestClient.connect(capped.url, { auth: { token: own }, transports: ['polling'] })
  t.pass('a place freed by Socket.IO is taken again, over polling')
  const stats = capped.app.realtimeStats.refusedHandshakes
  t.ok(stats.connectionsPerIp >= 2, `refusals are counted (${stats.connectionsPerIp})`)
  for (const s of [ws, io2]) s.close()
})

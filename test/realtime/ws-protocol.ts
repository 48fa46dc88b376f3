import type { Test } from 'tap'
import WebSocket from 'ws'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { leave } from './leave.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The /ws protocol over real sockets: credentials, stamping, errors, channels, keep-alive, shutdown. */
export async function protocolSuite (t: Test): Promise<void> {
  // One app for the whole suite; every test leaves its hub empty for the next.
  // The 1 KiB payload limit is for the oversize test; every other message here is smaller.
  const built = await build(t, { WS_MAX_PAYLOAD: '1024' })
  const { access_token: token } = await built.login()
  const hub = built.app.hub

  t.test('two clients see each other\'s stamped messages, sender included', async (t) => {
    const alice = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    const bob = await TestSocket.connect(`${built.wsUrl}/ws?access_token=${token}`)
    const before = Date.now() / 1000
    alice.send({ type: 'test', payload: { message: 'Hello' }, user: 'mallory', timestamp: 1, requestId: 'forged' })
    for (const socket of [alice, bob]) {
      const got = await socket.next()
      t.equal(got.type, 'test')
      t.same(got.payload, { message: 'Hello' })
      t.equal(got.user, 'user', 'user is the token subject, not what the client sent')
      t.type(got.timestamp, 'number')
      t.ok((got.timestamp as number) >= before - 1 && (got.timestamp as number) <= Date.now() / 1000 + 1, 'timestamp is now, in seconds')
      t.match(got.requestId, UUID_V4)
    }
    bob.send({ type: 'reply', payload: 1 })
    t.equal((await alice.next()).type, 'reply')
    t.equal((await bob.next()).type, 'reply')
    await leave(hub, alice, bob)
  })

  t.test('connection_established carries user, connection id and expiry', async (t) => {
    const socket = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`)
    const first = await socket.next()
    t.equal(first.type, 'connection_established')
    t.equal(first.user, 'user')
    t.match(first.connectionId, UUID_V4)
    t.type(first.expiresAt, 'number')
    await leave(hub, socket)
  })

  t.test('every credential position authenticates', async (t) => {
    const header = await TestSocket.connect(`${built.wsUrl}/ws`, { headers: { authorization: `Bearer ${token}` } })
    t.pass('Authorization: Bearer')
    const protocol = await TestSocket.connect(`${built.wsUrl}/ws`, { protocols: ['bearer', token] })
    t.equal(protocol.ws.protocol, 'bearer', 'server selects bearer and never echoes the token')
    await leave(hub, header, protocol)
  })

  t.test('failures close with 1008 and the fixed reason', async (t) => {
    const cases: Array<[string, string, string]> = [
      ['garbage token', '/ws?token=not-a-jwt', 'Invalid token'],
      ['token given twice', '/ws?token=a&token=b', 'Invalid token']
    ]
    for (const [name, path, reason] of cases) {
      const socket = await TestSocket.open(`${built.wsUrl}${path}`)
      t.same(await closedWithin(socket), { code: 1008, reason }, name)
    }
    const none = await TestSocket.open(`${built.wsUrl}/ws`)
    none.send({ type: 'test' })
    t.same(await closedWithin(none), { code: 1008, reason: 'Missing authentication token' }, 'first message without credentials')
    t.equal(hub.size, 0, 'none of them joined the hub')
  })

  t.test('a rejected socket never receives a broadcast', async (t) => {
    const member = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    const rejected = await TestSocket.open(`${built.wsUrl}/ws?token=bad`)
    member.send({ type: 'test' })
    await member.next()
    await closedWithin(rejected)
    t.same(rejected.received, [], 'nothing delivered before the close')
    t.equal(hub.size, 1, 'only the member joined the hub')
    await leave(hub, member)
  })

  t.test('bad frames get error frames and the socket stays open', async (t) => {
    const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    socket.send('{not json')
    t.match(await socket.next(), { type: 'error', code: 'invalid_json' })
    socket.send('[1,2]')
    t.match(await socket.next(), { type: 'error', code: 'invalid_message' })
    socket.send('{"type":42}')
    t.match(await socket.next(), { type: 'error', code: 'invalid_message' })
    socket.send({ type: 'stats_update', requestId: 'r1' })
    t.match(await socket.next(), { type: 'error', code: 'unsupported_type', requestId: 'r1' })
    socket.send({ type: 'ping' })
    t.match(await socket.next(), { type: 'pong' })
    await leave(hub, socket)
  })

  t.test('binary frames close with 1003, oversize with 1009', async (t) => {
    const binary = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    binary.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    t.same(await closedWithin(binary), { code: 1003, reason: 'Binary messages not supported' })
    const big = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    big.send({ type: 'big', data: 'x'.repeat(2048) })
    t.equal((await closedWithin(big)).code, 1009)
    await waitFor(() => hub.size === 0, 2000, 'closed sockets removed')
    t.equal(hub.size, 0, 'both left the hub')
  })

  t.test('channels: subscribe, publish to a channel, unsubscribe', async (t) => {
    const inRoom = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    const outside = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    inRoom.send({ type: 'subscribe', channel: 'room-1' })
    t.match(await inRoom.next(), { type: 'subscribed', channel: 'room-1', offset: Number, epoch: String })
    inRoom.send({ type: 'chat', channel: 'room-1', text: 'hi' })
    t.match(await inRoom.next(), { type: 'chat', channel: 'room-1', user: 'user' })
    outside.send({ type: 'chat', channel: 'room-1' })
    t.match(await outside.next(), { type: 'error', code: 'forbidden' }, 'cannot publish to a channel it is not in')
    // The room's chat was fanned out before inRoom read it, so a pong sent now comes after anything outside was given.
    t.same(await outside.receivedBeforePong(), [], 'and received nothing from the room')
    inRoom.send({ type: 'unsubscribe', channel: 'room-1' })
    t.same(await inRoom.next(), { type: 'unsubscribed', channel: 'room-1' })
    inRoom.send({ type: 'subscribe', channel: 'no spaces allowed' })
    t.match(await inRoom.next(), { type: 'error', code: 'invalid_message' })
    await leave(hub, inRoom, outside)
  })

  t.test('keep-alive drops a peer that stops answering pings, and keeps one that answers', async (t) => {
    // The heartbeat is a real timer. An answering peer must pong within one
    // interval, and this process serves both ends: 250 ms leaves room for a
    // stalled event loop on a busy machine while a few rounds still take under a second.
    const intervalMs = 250
    const beating = await build(t, { WS_PING_INTERVAL_MS: String(intervalMs) })
    const { access_token: beatingToken } = await beating.login()
    const silent = new WebSocket(`${beating.wsUrl}/ws?token=${beatingToken}`, { autoPong: false })
    const silentClosed = new Promise<number>((resolve) => { silent.on('close', (code) => { resolve(code) }) })
    const answering = await TestSocket.connect(`${beating.wsUrl}/ws?token=${beatingToken}`)
    let pings = 0
    answering.ws.on('ping', () => { pings++ })

    t.equal(await silentClosed, 1006, 'the silent peer is terminated without a close frame')
    await waitFor(() => beating.app.hub.size === 1, 2000, 'dead peer removed from the hub')
    t.equal(beating.app.hub.size, 1, 'only the answering peer is left')

    // The third ping is sent only if the second and the third tick found the previous pong.
    await waitFor(() => pings >= 3, 20 * intervalMs, 'three ping rounds')
    t.equal(answering.ws.readyState, WebSocket.OPEN, 'a peer that answers pings stays connected')
    t.same(await answering.receivedBeforePong(), [], 'and is still served')
    t.equal(beating.app.hub.size, 1)
    answering.close()
    await closedWithin(answering)
  })

  // Last: it closes the shared app.
  t.test('graceful close sends 1001 to every socket', async (t) => {
    const sockets = [
      await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`),
      await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    ]
    await built.app.close()
    for (const socket of sockets) t.same(await closedWithin(socket), { code: 1001, reason: 'Server shutting down' })
  })
}

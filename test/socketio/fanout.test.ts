import t from 'tap'
import { build } from '../helper.js'
import { TestSocket } from '../ws-client.js'
import { IoTestClient } from './io-client.js'

// Mixed fan-out: one hub, two kinds of socket, the same stamped JSON.

const built = await build(t, { SOCKETIO_ENABLED: 'true' })
const password = 'bob-password'
await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash(password) })
const user = (await built.login()).access_token
const bob = (await built.login('bob', password)).access_token

t.test('a Socket.IO message reaches /ws clients stamped identically, and the reverse', async (t) => {
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob}`)
  const sio = await IoTestClient.connect(built.url, { auth: { token: user } })
  const polling = await IoTestClient.connect(built.url, { auth: { token: bob }, transports: ['polling'] })
  t.teardown(() => { ws.close(); sio.close(); polling.close() })

  sio.emit('chat', { text: 'from socket.io' })
  const atWs = await ws.next()
  t.match(atWs, { type: 'chat', text: 'from socket.io', user: 'user', channel: 'global', timestamp: Number, requestId: String, offset: Number })
  t.same(await sio.nextOf('message'), atWs, 'the sender gets the same message event')
  t.same(await polling.nextOf('message'), atWs, 'a polling client too')

  ws.send({ type: 'chat', text: 'from /ws' })
  const echo = await ws.next()
  t.same(await sio.nextOf('message'), echo, 'the /ws message reaches Socket.IO as a message event, the same JSON')
  t.same(await polling.nextOf('message'), echo)

  sio.emit('message', { type: 'note', text: 'a whole message' })
  t.match(await ws.next(), { type: 'note', text: 'a whole message', user: 'user' }, '"message" carries the whole message')
  sio.emit('message', JSON.stringify({ type: 'note', text: 'as JSON text' }))
  t.match(await ws.next(), { type: 'note', text: 'as JSON text' }, 'or that message as JSON text, as a /ws frame')
  sio.emit('note', { type: 'forged', text: 'named' })
  t.match(await ws.next(), { type: 'note', text: 'named' }, 'the event name is the type, over a type in the payload')
  sio.emit('bare')
  t.match(await ws.next(), { type: 'bare', user: 'user' }, 'an event with nothing is a message of that type')
  sio.emit('note', { user: 'admin', timestamp: 1, requestId: 'mine' })
  const stamped = await ws.next()
  t.equal(stamped.user, 'user', 'the server stamps over what the client sent')
  t.not(stamped.requestId, 'mine')
})

t.test('channels: subscribe events, permissions and delivery as on /ws', async (t) => {
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob}`)
  const sio = await IoTestClient.connect(built.url, { auth: { token: user } })
  t.teardown(() => { ws.close(); sio.close() })

  sio.emit('subscribe', { channel: 'room1', requestId: 's-1' })
  t.match(await sio.nextOf('subscribed'), { type: 'subscribed', channel: 'room1', offset: Number, epoch: String, requestId: 's-1' })
  sio.emit('subscribe', { channel: 'user:bob' })
  t.match(await sio.nextOf('error'), { type: 'error', code: 'forbidden' }, 'another user\'s personal channel is refused')
  sio.emit('chat', { channel: 'user:bob', text: 'no' })
  t.match(await sio.nextOf('error'), { type: 'error', code: 'forbidden' }, 'and publishing there')

  ws.send({ type: 'chat', channel: 'room1', text: 'not in it' })
  t.match(await ws.next(), { type: 'error', code: 'forbidden' }, 'the /ws socket is not in room1 either')
  ws.send({ type: 'subscribe', channel: 'room1' })
  t.match(await ws.next(), { type: 'subscribed', channel: 'room1' })
  sio.emit('chat', { channel: 'room1', text: 'to the room' })
  const inRoom = await ws.next()
  t.match(inRoom, { type: 'chat', channel: 'room1', text: 'to the room', offset: Number })
  t.same(await sio.nextOf('message'), inRoom)

  sio.emit('unsubscribe', { channel: 'room1' })
  t.match(await sio.nextOf('unsubscribed'), { channel: 'room1' })
  ws.send({ type: 'chat', channel: 'room1', text: 'after' })
  await ws.next()
  t.same(await sio.receivedBeforePong(), [], 'nothing from room1 after unsubscribe')

  sio.emit('get_status')
  t.match(await sio.nextOf('status'), { user: 'user', connections: 1, channels: [{ channel: 'global' }] })
})

t.test('replies are events named by their type; reserved types cannot be sent', async (t) => {
  const sio = await IoTestClient.connect(built.url, { auth: { token: user } })
  t.teardown(() => { sio.close() })
  sio.emit('ping')
  t.match(await sio.next(), { event: 'pong', payload: { type: 'pong' } })
  sio.emit('stats_update', {})
  t.match(await sio.next(), { event: 'error', payload: { code: 'unsupported_type' } })
  sio.emit('authenticate', { token: user })
  t.match(await sio.next(), { event: 'error', payload: { code: 'unsupported_type', message: /Already authenticated/ } })
})

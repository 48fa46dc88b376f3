import t from 'tap'
import { build } from '../helper.js'
import { TestSocket } from '../ws-client.js'

t.test('a socket may be in WS_MAX_SUBSCRIPTIONS channels, global included; past that it gets an error frame', async (t) => {
  const built = await build(t, { WS_MAX_SUBSCRIPTIONS: '4' })
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  for (const channel of ['a', 'b', 'c']) {
    socket.send({ type: 'subscribe', channel })
    t.same(await socket.next(), { type: 'subscribed', channel }, `${channel}: within the cap`)
  }
  socket.send({ type: 'subscribe', channel: 'd', requestId: 'over' })
  t.match(await socket.next(), { type: 'error', code: 'too_many_subscriptions', requestId: 'over' }, 'the fifth channel is refused')
  socket.send({ type: 'subscribe', channel: 'a' })
  t.same(await socket.next(), { type: 'subscribed', channel: 'a' }, 'a channel already held is not a new subscription')

  socket.send({ type: 'get_status' })
  const status = await socket.nextOfType('status')
  t.same([...(status.channels as string[])].sort(), ['a', 'b', 'c', 'global'], 'the refused channel was not joined')

  // Nothing sent to the refused channel reaches the socket: the marker proves nothing came before it.
  const posted = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'note', channel: 'd' } })
  t.equal(posted.statusCode, 202, 'published to d')
  t.same(await socket.receivedBeforePong(), [], 'no message from channel d')

  socket.send({ type: 'unsubscribe', channel: 'b' })
  t.same(await socket.next(), { type: 'unsubscribed', channel: 'b' })
  socket.send({ type: 'subscribe', channel: 'd' })
  t.same(await socket.next(), { type: 'subscribed', channel: 'd' }, 'leaving one makes room')
  socket.close()
})

t.test('the default cap is 100 channels and the status frame stays bounded', async (t) => {
  // The message-rate limit is lifted so that only the subscription cap answers.
  const built = await build(t, { WS_MESSAGES_PER_SECOND: '100000', WS_MESSAGE_BURST: '100000' })
  t.equal(built.config.wsMaxSubscriptions, 100)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  let refused = 0
  for (let batch = 0; batch < 10; batch++) {
    for (let i = 0; i < 20; i++) socket.send({ type: 'subscribe', channel: `ch-${batch * 20 + i}` })
    for (let i = 0; i < 20; i++) if ((await socket.next()).type === 'error') refused++
  }
  t.equal(refused, 101, '99 of 200 joined next to global, the other 101 were refused')
  socket.send({ type: 'get_status' })
  const status = await socket.nextOfType('status')
  t.equal((status.channels as string[]).length, 100)
  t.ok(JSON.stringify(status).length < 4000, 'the status frame is a few KB, not 130 KB')
  socket.close()
})

t.test('an admin socket\'s internal stats channel does not use up its allowance', async (t) => {
  const built = await build(t, { WS_MAX_SUBSCRIPTIONS: '2' })
  await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
  const admin = (await built.login('root', 'root-password')).access_token
  const socket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  socket.send({ type: 'subscribe', channel: 'ops' })
  t.same(await socket.nextOfType('subscribed'), { type: 'subscribed', channel: 'ops' }, 'global + ops make two')
  socket.send({ type: 'subscribe', channel: 'more' })
  t.match(await socket.nextOfType('error'), { code: 'too_many_subscriptions' })
  socket.close()
})

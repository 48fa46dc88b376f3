import t from 'tap'
import WebSocket from 'ws'
import { build } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { forgeToken, nowSeconds } from '../auth/forge.js'

t.test('a socket without handshake credentials authenticates with its first message', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.open(`${built.wsUrl}/ws`)
  t.equal(built.app.hub.size, 0, 'pending sockets are not in the hub')
  socket.send({ type: 'authenticate', token })
  t.match(await socket.next(), { type: 'authenticated', user: 'user' })
  t.match(await socket.next(), { type: 'connection_established', user: 'user' })
  socket.send({ type: 'test', payload: 1 })
  t.match(await socket.next(), { type: 'test', user: 'user', payload: 1 })
  socket.close()
})

t.test('a message sent in the same tick as open is not lost', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const ws = new WebSocket(`${built.wsUrl}/ws`)
  const received: Json[] = []
  const gotChat = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Json
      received.push(message)
      if (message.type === 'chat') resolve()
    })
  })
  ws.on('open', () => {
    ws.send(JSON.stringify({ type: 'authenticate', token }))
    ws.send(JSON.stringify({ type: 'chat', text: 'right behind the authenticate' }))
  })
  await gotChat
  t.same(received.map((m) => m.type), ['authenticated', 'connection_established', 'chat'])
  ws.close()
})

t.test('message-auth failures: auth_failed, then 1008 with the reason', async (t) => {
  const built = await build(t)
  const expired = forgeToken({ sub: 'user', iat: nowSeconds() - 3600, exp: nowSeconds() - 60 })
  const cases: Array<[string, string]> = [
    ['not-a-jwt', 'Invalid token'],
    [expired, 'Token expired'],
    [forgeToken({ iat: nowSeconds(), exp: nowSeconds() + 60 }), 'Invalid token payload']
  ]
  for (const [token, reason] of cases) {
    const socket = await TestSocket.open(`${built.wsUrl}/ws`)
    socket.send({ type: 'authenticate', token })
    t.same(await socket.next(), { type: 'auth_failed', reason })
    t.same(await closedWithin(socket), { code: 1008, reason })
  }
})

t.test('any other first message, or silence, closes the pending socket', async (t) => {
  const built = await build(t, { WS_AUTH_TIMEOUT_MS: '300' })
  const chatty = await TestSocket.open(`${built.wsUrl}/ws`)
  chatty.send({ type: 'test' })
  t.same(await closedWithin(chatty), { code: 1008, reason: 'Missing authentication token' })
  const garbage = await TestSocket.open(`${built.wsUrl}/ws`)
  garbage.send('not json')
  t.same(await closedWithin(garbage), { code: 1008, reason: 'Missing authentication token' })
  const silent = await TestSocket.open(`${built.wsUrl}/ws`)
  const started = Date.now()
  t.same(await closedWithin(silent), { code: 1008, reason: 'Authentication timeout' })
  t.ok(Date.now() - started >= 250, 'not before the timeout')
})

t.test('pending sockets receive nothing while others broadcast', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const member = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const pending = await TestSocket.open(`${built.wsUrl}/ws`)
  for (let i = 0; i < 5; i++) member.send({ type: 'broadcast', i })
  for (let i = 0; i < 5; i++) await member.next()
  t.same(await pending.drain(200), [], 'nothing reached the pending socket')
  pending.send({ type: 'authenticate', token })
  t.match(await pending.next(), { type: 'authenticated' })
  t.match(await pending.next(), { type: 'connection_established' })
  t.same(await pending.drain(100), [], 'and no backlog afterwards')
  member.close()
  pending.close()
})

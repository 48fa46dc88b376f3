import t from 'tap'
import WebSocket from 'ws'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

t.test('permessage-deflate is off unless configured', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.equal(socket.ws.extensions, '', 'no extension negotiated')
  socket.close()
})

t.test('when on, broadcasts still arrive and maxPayload applies after inflation', async (t) => {
  const built = await build(t, { WS_PERMESSAGE_DEFLATE: 'true', WS_MAX_PAYLOAD: '4096' })
  const { access_token: token } = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.match(a.ws.extensions, /permessage-deflate/)
  a.send({ type: 'small', text: 'hello' })
  t.match(await b.next(), { type: 'small', text: 'hello' })
  t.match(await a.next(), { type: 'small' })
  // 100 KB of one letter compresses to a few hundred bytes on the wire, far under 4 KiB.
  a.ws.send(JSON.stringify({ type: 'bomb', data: 'a'.repeat(100_000) }), { compress: true })
  t.equal((await closedWithin(a)).code, 1009, 'refused once inflated')
  b.send({ type: 'after' })
  t.match(await b.next(), { type: 'after' }, 'the other socket is fine')
  t.equal(b.ws.readyState, WebSocket.OPEN)
  b.close()
})

import t from 'tap'
import WebSocket from 'ws'
import { encodeTextFrame } from '../../src/realtime/frame.js'
import { build } from '../helper.js'
import { TestSocket } from '../ws-client.js'

interface SenderOracle {
  Sender: { frame: (data: Buffer, options: { fin: boolean, opcode: number, mask: boolean, readOnly: boolean, rsv1: boolean }) => Buffer[] }
}

// The payload-length encoding changes at 126 and 65 536 bytes.
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]

t.test('frames match ws\'s own framing at every length boundary', async (t) => {
  const { Sender } = WebSocket as unknown as SenderOracle
  for (const length of LENGTHS) {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'x'.repeat(length % 2)
    const expected = Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }))
    const frame = encodeTextFrame(text)
    t.ok(frame.wire.equals(expected), `${Buffer.byteLength(text)} bytes`)
    t.equal(frame.text, text)
  }
})

t.test('broadcasts of every size arrive intact through a real socket', async (t) => {
  // POST /messages takes bodies up to WS_MAX_PAYLOAD; the largest sizes here need more than 64 KiB.
  const built = await build(t, { WS_MAX_PAYLOAD: '1048576' })
  const { access_token: token } = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  for (const length of LENGTHS) {
    const payload = 'ü'.repeat(length)
    const res = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'sized', payload } })
    t.equal(res.statusCode, 202)
    for (const socket of [a, b]) {
      const got = await socket.next()
      t.equal(got.payload, payload, `${length} characters`)
    }
  }
  a.close()
  b.close()
})

t.test('a burst of broadcasts in one turn of the event loop arrives complete and in order', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  a.send({ type: 'ping' })
  t.match(await a.next(), { type: 'pong' })
  // Synchronously, so every frame is written while the sockets are corked.
  for (let i = 0; i < 300; i++) void built.app.broker.publish({ kind: 'broadcast', channel: 'global', frame: JSON.stringify({ type: 'burst', i }) })
  for (const socket of [a, b]) {
    const got: number[] = []
    for (let i = 0; i < 300; i++) got.push((await socket.next()).i as number)
    t.same(got, Array.from({ length: 300 }, (_, i) => i), 'all 300, in order')
  }
  b.send({ type: 'after' })
  t.match(await a.next(), { type: 'after' }, 'and the sockets keep working after the uncork')
  a.close()
  b.close()
})

import type { IncomingMessage } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import WebSocket, * as wsModule from 'ws'
import { encodeTextFrame } from '../../src/realtime/frame.js'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

// What travels between the hub and its sockets: frames at every length,
// bursts under cork, permessage-deflate, publishing over HTTP, and what an
// open socket keeps in memory.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/**
 * Shared by the tests that need nothing else. POST /messages takes bodies up
 * to WS_MAX_PAYLOAD, and the largest broadcasts here need more than 64 KiB.
 */
const built = await build(t, { WS_MAX_PAYLOAD: '1048576' })
const { access_token: token } = await built.login()

interface SenderOracle {
  Sender: { frame: (data: Buffer, options: { fin: boolean, opcode: number, mask: boolean, readOnly: boolean, rsv1: boolean }) => Buffer[] }
}

// The payload-length encoding changes at 126 and 65 536 bytes.
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]

t.test('frames match ws\'s own framing at every length boundary', async (t) => {
  // ws's ESM entry exports Sender by name; its default export (the CommonJS one's WebSocket) does not carry it.
  const { Sender } = wsModule as unknown as SenderOracle
  for (const length of LENGTHS) {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'x'.repeat(length % 2)
    const expected = Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }))
    const frame = encodeTextFrame(text)
    t.ok(frame.wire.equals(expected), `${Buffer.byteLength(text)} bytes`)
    t.equal(frame.text, text)
  }
})

t.test('broadcasts of every size arrive intact through a real socket', async (t) => {
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

t.test('POST /messages publishes stamped like a socket message', async (t) => {
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const res = await fetch(`${built.url}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'deploy', payload: { version: 3 }, user: 'forged' })
  })
  t.equal(res.status, 202)
  const body = await res.json() as Record<string, unknown>
  t.match(body, { type: 'deploy', payload: { version: 3 }, user: 'user' })
  t.same(await socket.next(), body, 'the socket receives exactly the stamped message')
  const reserved = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'connection_established' } })
  t.equal(reserved.statusCode, 400)
  const noType = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { payload: 1 } })
  t.equal(noType.statusCode, 400)
  const anonymous = await built.app.inject({ method: 'POST', url: '/messages', payload: { type: 'x' } })
  t.equal(anonymous.statusCode, 401)
  // A publish is written to the sockets before its response is sent, so had
  // one of these got through, it would arrive before the pong.
  t.same(await socket.receivedBeforePong(), [], 'refused publishes reached nobody')
  socket.close()
})

t.test('permessage-deflate is off unless configured', async (t) => {
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.equal(socket.ws.extensions, '', 'no extension negotiated')
  socket.close()
})

t.test('when on, broadcasts still arrive and maxPayload applies after inflation', async (t) => {
  const deflating = await build(t, { WS_PERMESSAGE_DEFLATE: 'true', WS_MAX_PAYLOAD: '4096' })
  const { access_token: token } = await deflating.login()
  const a = await TestSocket.connect(`${deflating.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${deflating.wsUrl}/ws?token=${token}`)
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

t.test('an open socket does not keep its HTTP request alive', async (t) => {
  // The upgrade requests are tracked from a listener of the same server's 'upgrade' event.
  const requests: Array<WeakRef<object>> = []
  const track = (request: IncomingMessage): void => {
    if (request.url?.startsWith('/ws') === true) requests.push(new WeakRef(request))
  }
  built.app.server.on('upgrade', track)
  t.teardown(() => { built.app.server.removeListener('upgrade', track) })
  const sockets: TestSocket[] = []
  for (let i = 0; i < 5; i++) sockets.push(await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`))
  t.equal(requests.length, 5)
  const alive = (): number => requests.filter((r) => r.deref() !== undefined).length
  // What the handshake's callbacks still hold is let go a few ticks later: collect until none is left.
  await waitFor(() => {
    gc()
    return alive() === 0
  }, 5000, 'collection of every upgrade request').catch(() => undefined)
  t.equal(alive(), 0, 'every upgrade request was collected')
  t.ok(sockets.every((s) => s.ws.readyState === WebSocket.OPEN), 'while the sockets stay open')
  sockets[0]?.send({ type: 'still-works' })
  t.match(await sockets[0]?.next(), { type: 'still-works' })
  for (const s of sockets) s.close()
})

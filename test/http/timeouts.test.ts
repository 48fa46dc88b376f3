import { connect, type Socket } from 'node:net'
import t from 'tap'
import { build, type Built } from '../helper.js'
import { TestSocket } from '../ws-client.js'

interface Ended {
  /** Everything the server wrote before it ended the connection. */
  readonly response: string
  readonly afterMs: number
}

/** A raw TCP client: whatever the test writes, nothing more, and a record of the server's answer. */
async function rawClient (built: Built): Promise<{ socket: Socket, ended: Promise<Ended> }> {
  const { port } = new URL(built.url)
  const socket = connect(Number(port), '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const started = Date.now()
  let response = ''
  socket.on('data', (chunk: Buffer) => { response += chunk.toString() })
  // The server may reset rather than close; either way the connection is over.
  socket.on('error', () => undefined)
  const ended = new Promise<Ended>((resolve) => {
    socket.once('close', () => { resolve({ response, afterMs: Date.now() - started }) })
  })
  return { socket, ended }
}

/** The end of the connection, or a failure if the server keeps it open past the deadline. */
async function endedWithin (ended: Promise<Ended>, deadlineMs: number, socket: Socket): Promise<Ended> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`the server still held the connection after ${deadlineMs} ms`)) }, deadlineMs)
  })
  try {
    return await Promise.race([ended, deadline])
  } finally {
    clearTimeout(timer)
    socket.destroy()
  }
}

const HEADERS = 'POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n'

t.test('the configured timeouts reach the HTTP server', async (t) => {
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '20000', HTTP_HEADERS_TIMEOUT_MS: '7000', HTTP_CONNECTION_TIMEOUT_MS: '25000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '61000' })
  const server = built.app.server
  t.equal(server.requestTimeout, 20000)
  t.equal(server.headersTimeout, 7000)
  t.equal(server.timeout, 25000)
  t.equal(server.keepAliveTimeout, 61000)
})

t.test('headers, then a body that stalls: ended at the request timeout with 408', async (t) => {
  // The idle timeout is far away, so only the request timeout can end this.
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '400', HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_CONNECTION_TIMEOUT_MS: '600000' })
  const { socket, ended } = await rawClient(built)
  socket.write(`${HEADERS}{"type":"tr`)
  const end = await endedWithin(ended, 10_000, socket)
  t.match(end.response, /^HTTP\/1\.1 408 /, `answered 408 after ${end.afterMs} ms`)
  t.ok(end.afterMs >= 350, 'not before the timeout')
  const body: unknown = JSON.parse(end.response.slice(end.response.indexOf('\r\n\r\n') + 4))
  t.match(body, { error: 'invalid_request', error_description: 'The request did not arrive within the time allowed', detail: String }, 'in the API\'s error body')
  t.match(built.logs(), /"status":408.*did not arrive within the time allowed/, 'and logged')
})

t.test('a body trickled a byte at a time is ended at the request timeout, though never idle', async (t) => {
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '500', HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_CONNECTION_TIMEOUT_MS: '600000' })
  const { socket, ended } = await rawClient(built)
  socket.write(HEADERS)
  let sent = 0
  // The attack itself: one byte every 50 ms keeps the socket from ever being idle.
  const trickle = setInterval(() => { if (!socket.destroyed) { socket.write(' '); sent++ } }, 50)
  t.teardown(() => { clearInterval(trickle) })
  const end = await endedWithin(ended, 10_000, socket)
  clearInterval(trickle)
  t.match(end.response, /^HTTP\/1\.1 408 /, `ended after ${end.afterMs} ms and ${sent} trickled bytes`)
  t.ok(sent < 1000, 'before the body was complete')
})

t.test('headers trickled a line at a time are ended at the headers timeout', async (t) => {
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '600000', HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_CONNECTION_TIMEOUT_MS: '600000' })
  const { socket, ended } = await rawClient(built)
  socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  let n = 0
  const trickle = setInterval(() => { if (!socket.destroyed) socket.write(`X-Slow-${n++}: 1\r\n`) }, 50)
  t.teardown(() => { clearInterval(trickle) })
  const end = await endedWithin(ended, 10_000, socket)
  clearInterval(trickle)
  t.match(end.response, /^HTTP\/1\.1 408 /, `ended after ${end.afterMs} ms and ${n} header lines`)
})

t.test('a connection that goes silent mid-body is ended at the connection (idle) timeout', async (t) => {
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '600000', HTTP_HEADERS_TIMEOUT_MS: '600000', HTTP_CONNECTION_TIMEOUT_MS: '300' })
  const { socket, ended } = await rawClient(built)
  socket.write(`${HEADERS}{"type":`)
  const end = await endedWithin(ended, 10_000, socket)
  t.ok(end.afterMs >= 250, `ended after ${end.afterMs} ms`)
})

t.test('an open WebSocket is not ended by the HTTP timeouts', async (t) => {
  const built = await build(t, { HTTP_REQUEST_TIMEOUT_MS: '300', HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_CONNECTION_TIMEOUT_MS: '300' })
  const { access_token: token } = await built.login()
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  // A stalled request next to it: its end proves the timeouts have run out meanwhile.
  for (let round = 0; round < 2; round++) {
    const { socket, ended } = await rawClient(built)
    socket.write(`${HEADERS}{`)
    const end = await endedWithin(ended, 10_000, socket)
    t.ok(end.afterMs >= 250, `a stalled request was ended after ${end.afterMs} ms`)
  }
  ws.send({ type: 'ping' })
  t.match(await ws.next(), { type: 'pong' }, 'the idle socket still answers')
  ws.close()
})

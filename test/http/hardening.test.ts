import { connect, type Socket } from 'node:net'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ManualClock } from '../clock.js'
import { build, type Built } from '../helper.js'
import { TestSocket } from '../ws-client.js'

// The HTTP server's own limits: its timeouts against slow clients, the size
// and rate limits of POST /messages, and whether /docs is served. Each test
// builds an app with the settings it probes. (The production server's
// protections line, which reports them, is read in test/production.test.ts.)

// Timeouts

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

// POST /messages within a socket's limits: WS_MAX_PAYLOAD per body, WS_MESSAGES_PER_SECOND / WS_MESSAGE_BURST per user.

async function post (built: Built, token: string, body: string): Promise<Response> {
  return await fetch(`${built.url}/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
}

/** A message of exactly `bytes` bytes of JSON. */
function messageOf (bytes: number, type = 'big'): string {
  const empty = JSON.stringify({ type, payload: { text: '' } })
  return JSON.stringify({ type, payload: { text: 'x'.repeat(bytes - empty.length) } })
}

// /docs

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }
const SECRET = 'a-production-secret-of-at-least-32-bytes!'

async function status (built: Built, url: string): Promise<number> {
  return (await built.app.inject({ url })).statusCode
}

t.test('HTTP timeouts', async (t) => {
  // Each test has its own app and mostly waits for the server's timers: they run side by side.
  t.jobs = 6

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
})

t.test('POST /messages limits', async (t) => {
  t.test('a body over WS_MAX_PAYLOAD is refused with 413 and reaches no one', async (t) => {
    const built = await build(t, { WS_MAX_PAYLOAD: '1024' })
    const { access_token: token } = await built.login()
    const receiver = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    t.teardown(() => { receiver.close() })

    const exact = await post(built, token, messageOf(1024, 'fits'))
    t.equal(exact.status, 202, 'a body of exactly the frame limit is accepted')
    const over = await post(built, token, messageOf(1025, 'too-big'))
    t.equal(over.status, 413, 'one byte more is not')
    t.match(await over.json(), { error: 'invalid_request', detail: String })
    const huge = await post(built, token, messageOf(1024 * 1024 - 100, 'huge'))
    t.equal(huge.status, 413, 'nor the 1 MiB that was the limit before')

    const received = await receiver.receivedBeforePong()
    t.same(received.map((m) => m.type), ['fits'], 'the receiver got only the message that fit')
  })

  t.test('a user over the socket message rate gets 429 with Retry-After, on the injected clock', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, { WS_MESSAGES_PER_SECOND: '2', WS_MESSAGE_BURST: '3' }, { clock })
    const { access_token: token } = await built.login()
    await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash('bob-password') })
    const { access_token: bob } = await built.login('bob', 'bob-password')
    const receiver = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob}`)
    t.teardown(() => { receiver.close() })

    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await post(built, token, JSON.stringify({ type: 'burst', payload: { i } }))).status)
    t.same(statuses, [202, 202, 202], 'the burst is accepted')
    const refused = await post(built, token, JSON.stringify({ type: 'over', payload: {} }))
    t.equal(refused.status, 429)
    t.equal(refused.headers.get('retry-after'), '1')
    const body = await refused.json() as Record<string, unknown>
    t.match(body, { error: 'temporarily_unavailable', detail: /messages per second/ })
    t.equal(body.error_description, body.detail)

    t.equal((await post(built, bob, JSON.stringify({ type: 'other-user' }))).status, 202, 'another user has a bucket of their own')

    clock.advance(499)
    t.equal((await post(built, token, JSON.stringify({ type: 'still-over' }))).status, 429, 'half a token later: still refused')
    clock.advance(1)
    t.equal((await post(built, token, JSON.stringify({ type: 'after-wait' }))).status, 202, 'one token refilled at 2 per second')

    const received = await receiver.receivedBeforePong()
    t.same(received.map((m) => m.type), ['burst', 'burst', 'burst', 'other-user', 'after-wait'], 'refused messages were never fanned out')
  })
})

t.test('DOCS_ENABLED', async (t) => {
  t.test('DOCS_ENABLED: off by default in production, on elsewhere, and a bad value is a start error', async (t) => {
    t.equal(loadConfig({ ...PRODUCTION, JWT_SECRET_KEY: SECRET }).docsEnabled, false)
    t.equal(loadConfig({ ...PRODUCTION, JWT_SECRET_KEY: SECRET, DOCS_ENABLED: 'true' }).docsEnabled, true)
    t.equal(loadConfig({}).docsEnabled, true)
    t.equal(loadConfig({ DOCS_ENABLED: 'false' }).docsEnabled, false)
    t.throws(() => loadConfig({ DOCS_ENABLED: 'maybe' }), ConfigError)
  })

  t.test('production serves no /docs unless asked to', async (t) => {
    const prod = await build(t, PRODUCTION)
    for (const url of ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html']) t.equal(await status(prod, url), 404, `${url}: 404`)
    t.equal(await status(prod, '/health'), 200, 'the rest is served')
    const opted = await build(t, { ...PRODUCTION, DOCS_ENABLED: 'true' })
    t.equal(await status(opted, '/docs/json'), 200, 'DOCS_ENABLED=true serves it in production')
  })

  t.test('development serves /docs unless turned off', async (t) => {
    const dev = await build(t)
    t.equal(await status(dev, '/docs/json'), 200)
    const off = await build(t, { DOCS_ENABLED: 'false' })
    t.equal(await status(off, '/docs/json'), 404)
    t.equal(await status(off, '/docs'), 404)
  })
})

import { request as httpRequest } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Test } from 'tap'
import WebSocket from 'ws'
import { ManualClock } from '../clock.js'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { leave } from './leave.js'

/** Sends a raw upgrade request and resolves with the status line the server answered. */
function rawUpgrade (port: number, extraHeaders: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1', () => {
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extraHeaders}\r\n`)
    })
    let data = ''
    socket.on('data', (chunk) => { data += chunk.toString() })
    socket.on('error', () => { resolve(data.split('\r\n')[0] ?? '') })
    socket.on('close', () => { resolve(data.split('\r\n')[0] ?? '') })
    socket.setTimeout(3000, () => { socket.destroy() })
  })
}

const RATE = 5

/**
 * One app for the whole hostile run, configured with every limit the tests
 * probe. Each test leaves the hub empty for the next; the one that breaks
 * the database comes last. Message rates are read from a clock that moves
 * only when a test advances it, so the counts below are exact on any machine.
 */
export async function hostileSuite (t: Test): Promise<void> {
  const clock = new ManualClock()
  const built = await build(t, {
    CORS_ORIGINS: 'https://good.example',
    WS_MESSAGES_PER_SECOND: String(RATE),
    WS_MESSAGE_BURST: String(RATE),
    WS_MAX_CONNECTIONS_PER_USER: '2',
    WS_MAX_BUFFERED_BYTES: '262144',
    TOKEN_RATE_LIMIT: '5'
  }, { clock })
  const hub = built.app.hub
  // The first of the 5 logins a minute this app allows; the log test below uses the rest.
  const { access_token: token } = await built.login()
  const wsUrl = `${built.wsUrl}/ws?token=${token}`

  /** Reads `count` messages and returns them. */
  async function read (socket: TestSocket, count: number): Promise<Json[]> {
    const got: Json[] = []
    for (let i = 0; i < count; i++) got.push(await socket.next())
    return got
  }

  t.test('Origin is checked on the upgrade when CORS_ORIGINS is set', async (t) => {
    const evil = await TestSocket.open(wsUrl, { headers: { origin: 'https://evil.example' } })
    t.same(await closedWithin(evil), { code: 1008, reason: 'Origin not allowed' })
    const good = await TestSocket.connect(wsUrl, { headers: { origin: 'https://good.example' } })
    t.pass('a listed origin connects')
    const noOrigin = await TestSocket.connect(wsUrl)
    t.pass('a non-browser client without Origin connects')
    t.equal(hub.size, 2, 'the refused socket never joined')
    await leave(hub, good, noOrigin)
  })

  t.test('2 000 request headers and a huge Sec-WebSocket-Protocol are refused; the process serves on', async (t) => {
    const port = Number(new URL(built.url).port)
    const many = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(20)}\r\n`).join('')
    t.match(await rawUpgrade(port, many), /^(HTTP\/1\.1 431 .*|)$/, 'too many headers: 431 or dropped, never 101')
    const hugeProtocol = `Sec-WebSocket-Protocol: bearer, ${'a'.repeat(64 * 1024)}\r\n`
    t.match(await rawUpgrade(port, hugeProtocol), /^(HTTP\/1\.1 431 .*|)$/, 'huge subprotocol: 431 or dropped, never 101')
    const health = await fetch(`${built.url}/health`)
    t.equal(health.status, 200, 'still serving')
  })

  t.test('invalid UTF-8 closes with 1007', async (t) => {
    const socket = await TestSocket.connect(wsUrl)
    socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    t.equal((await closedWithin(socket)).code, 1007)
    await leave(hub)
  })

  t.test('a flood gets one error frame, then 1008 Rate limit exceeded; others are unaffected', async (t) => {
    const bystander = await TestSocket.connect(wsUrl)
    const flooder = await TestSocket.connect(wsUrl)
    for (let i = 0; i < 50; i++) flooder.send({ type: 'flood', i })
    t.same(await closedWithin(flooder), { code: 1008, reason: 'Rate limit exceeded' })
    // The clock stood still: exactly the burst passed, the next one was warned, the one after closed.
    const burst = Array.from({ length: RATE }, (_, i) => ({ type: 'flood', i, user: 'user' }))
    t.match(flooder.received, [...burst, { type: 'error', code: 'rate_limited' }], 'the burst went through, then one warning')
    t.equal(flooder.received.length, RATE + 1, 'and nothing else')
    // The flood was fanned out while the server read it, before it closed the flooder: the pong comes after all of it.
    const bystanderGot = await bystander.receivedBeforePong()
    t.match(bystanderGot, burst, 'the bystander saw the burst')
    t.equal(bystanderGot.length, RATE, 'and only the burst')
    bystander.send({ type: 'still-fine' })
    t.match(await bystander.next(), { type: 'still-fine' })
    await leave(hub, bystander)
  })

  t.test('the bucket refills with time: one message per 1/rate seconds', async (t) => {
    const socket = await TestSocket.connect(wsUrl)
    for (let i = 0; i < RATE; i++) socket.send({ type: 'burst', i })
    t.match(await read(socket, RATE), Array.from({ length: RATE }, (_, i) => ({ type: 'burst', i })), 'the burst passes')
    socket.send({ type: 'over' })
    t.match(await socket.next(), { type: 'error', code: 'rate_limited' }, 'the first message over the rate is refused with a warning')
    clock.advance(1000 / RATE)
    socket.send({ type: 'refilled' })
    t.match(await socket.next(), { type: 'refilled' }, 'one interval later one message passes')
    socket.send({ type: 'over-again' })
    t.same(await closedWithin(socket), { code: 1008, reason: 'Rate limit exceeded' }, 'the next one over the rate, still warned, closes')
    t.same(socket.received, [], 'neither message over the rate was delivered')
    await leave(hub)
  })

  t.test('a client over its rate that then slows down is forgiven', async (t) => {
    const socket = await TestSocket.connect(wsUrl)
    for (let i = 0; i <= RATE; i++) socket.send({ type: 'burst', i })
    t.match(await read(socket, RATE + 1), [...Array.from({ length: RATE }, (_, i) => ({ type: 'burst', i })), { type: 'error', code: 'rate_limited' }],
      'over the rate: warned')
    // A full second refills the whole bucket, which clears the warning.
    clock.advance(1000)
    for (let i = 0; i <= RATE; i++) socket.send({ type: 'burst-again', i })
    const again = await read(socket, RATE + 1)
    t.match(again, [...Array.from({ length: RATE }, (_, i) => ({ type: 'burst-again', i })), { type: 'error', code: 'rate_limited' }],
      'over the rate again: warned again (a close sends no error frame), not closed')
    clock.advance(1000)
    t.same(await socket.receivedBeforePong(), [], 'still served')
    t.equal(socket.ws.readyState, WebSocket.OPEN)
    await leave(hub, socket)
  })

  t.test('too many connections for one user closes with 1013', async (t) => {
    const a = await TestSocket.connect(wsUrl)
    const b = await TestSocket.connect(wsUrl)
    const c = await TestSocket.open(wsUrl)
    t.same(await closedWithin(c), { code: 1013, reason: 'Too many connections' })
    a.close()
    await waitFor(() => hub.connectionsOf('user') === 1)
    const d = await TestSocket.connect(wsUrl)
    t.pass('a freed slot can be used again')
    await leave(hub, b, d)
  })

  t.test('a client that never reads is closed with 1013 Slow consumer; memory stays bounded; others get everything', async (t) => {
    const slow = await TestSocket.connect(wsUrl)
    const reader = await TestSocket.connect(wsUrl)
    const rawSocket = (slow.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
    rawSocket.pause()
    const payload = 'x'.repeat(60_000)
    let published = 0
    const publish = async (): Promise<void> => {
      // POST /messages has the socket's per-user rate: a second passes before each publish, so it never binds here.
      clock.advance(1000)
      const res = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'bulk', i: published, payload } })
      if (res.statusCode !== 202) throw new Error(`publish failed: ${res.statusCode}`)
      published++
    }
    // Publish until the kernel buffers are full and the server's own buffer
    // passes the bound (a few MB on Linux), which drops the slow client from the hub.
    const cap = 1000
    while (hub.size === 2 && published < cap) await publish()
    t.equal(hub.size, 1, `slow consumer dropped from the hub (after ${published} messages of 60 kB)`)
    const droppedAt = published
    // These reach the reader only.
    for (let i = 0; i < 20; i++) await publish()
    let delivered = 0
    for (let i = 0; i < published; i++) if ((await reader.next(5000)).type === 'bulk') delivered++
    t.equal(delivered, published, 'the reading client received every message')
    rawSocket.resume()
    t.same(await closedWithin(slow, 10_000), { code: 1013, reason: 'Slow consumer' })
    const bulk = slow.received.filter((m) => m.type === 'bulk')
    t.ok(bulk.length > 0 && bulk.length < droppedAt, `the slow client got only what was buffered before the bound (${bulk.length} of ${published})`)
    t.ok(bulk.every((m) => typeof m.i === 'number' && m.i < droppedAt), 'and nothing published after it was dropped')
    await leave(hub, reader)
  })

  t.test('a hostile run leaves no token, refresh token or password in any log line', async (t) => {
    // Logins 2 to 5 of this minute; the wrong ones after them are refused with 429.
    const tokens = await built.login()
    const secrets = [token, tokens.access_token, tokens.refresh_token ?? '', 'Wr0ng-Pa55word!']
    await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'Wr0ng-Pa55word!' } })
    await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
    await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: tokens.refresh_token } })
    // The session is revoked: each of these is refused, and the refusal is logged.
    for (const path of [`/ws?token=${tokens.access_token}`, `/ws?access_token=${tokens.access_token}`]) {
      const socket = await TestSocket.open(`${built.wsUrl}${path}`)
      await closedWithin(socket)
    }
    const viaProtocol = await TestSocket.open(`${built.wsUrl}/ws`, { protocols: ['bearer', tokens.access_token] })
    await closedWithin(viaProtocol)
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${built.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } }, (res) => { res.resume(); res.on('end', resolve) })
      req.end()
    })
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      statuses.push((await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'Wr0ng-Pa55word!' } })).statusCode)
    }
    t.ok(statuses.includes(429), `the login rate limit was reached (${statuses.join(' ')})`)
    // Every log line of the whole run so far, the earlier tests' included.
    const logs = built.logs()
    for (const secret of secrets) {
      t.notOk(logs.includes(secret), `log lines do not contain ${secret.slice(0, 6)}…`)
    }
    for (const access of [token, tokens.access_token]) {
      const signature = access.split('.')[2] ?? ''
      t.notOk(logs.includes(signature), 'nor an access token signature')
    }
    const passwordFields = logs.split('\n').filter((line) => line.includes('"password":'))
    t.same(passwordFields, [], 'no log line has a password field')
  })

  // Last: the app has no database afterwards.
  t.test('a failure inside one socket\'s handling closes only that socket with 1011', async (t) => {
    const healthy = await TestSocket.connect(wsUrl)
    const pending = await TestSocket.open(`${built.wsUrl}/ws`)
    // The database goes away under the server: authenticating now throws.
    await built.app.db.destroy()
    pending.send({ type: 'authenticate', token })
    t.same(await closedWithin(pending), { code: 1011, reason: 'Internal error' })
    healthy.send({ type: 'ping' })
    t.match(await healthy.next(), { type: 'pong' }, 'the other socket is untouched')
    healthy.send({ type: 'chat' })
    t.match(await healthy.next(), { type: 'chat', user: 'user' })
    healthy.close()
    await closedWithin(healthy)
  })
}

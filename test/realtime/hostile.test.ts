import { request as httpRequest } from 'node:http'
import { connect as netConnect } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

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

function portOf (url: string): number {
  return Number(new URL(url).port)
}

t.test('Origin is checked on the upgrade when CORS_ORIGINS is set', async (t) => {
  const built = await build(t, { CORS_ORIGINS: 'https://good.example' })
  const { access_token: token } = await built.login()
  const evil = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`, { headers: { origin: 'https://evil.example' } })
  t.same(await closedWithin(evil), { code: 1008, reason: 'Origin not allowed' })
  const good = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`, { headers: { origin: 'https://good.example' } })
  t.pass('a listed origin connects')
  const noOrigin = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.pass('a non-browser client without Origin connects')
  t.equal(built.app.hub.size, 2, 'the refused socket never joined')
  good.close()
  noOrigin.close()
})

t.test('2 000 request headers and a huge Sec-WebSocket-Protocol are refused; the process serves on', async (t) => {
  const built = await build(t)
  const port = portOf(built.url)
  const many = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(20)}\r\n`).join('')
  t.match(await rawUpgrade(port, many), /^(HTTP\/1\.1 431 .*|)$/, 'too many headers: 431 or dropped, never 101')
  const hugeProtocol = `Sec-WebSocket-Protocol: bearer, ${'a'.repeat(64 * 1024)}\r\n`
  t.match(await rawUpgrade(port, hugeProtocol), /^(HTTP\/1\.1 431 .*|)$/, 'huge subprotocol: 431 or dropped, never 101')
  const health = await fetch(`${built.url}/health`)
  t.equal(health.status, 200, 'still serving')
})

t.test('invalid UTF-8 closes with 1007', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  t.equal((await closedWithin(socket)).code, 1007)
})

t.test('a flood gets one error frame, then 1008 Rate limit exceeded; others are unaffected', async (t) => {
  const built = await build(t, { WS_MESSAGES_PER_SECOND: '5', WS_MESSAGE_BURST: '5' })
  const { access_token: token } = await built.login()
  const bystander = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const flooder = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  for (let i = 0; i < 50; i++) flooder.send({ type: 'flood', i })
  const closed = await closedWithin(flooder)
  t.same(closed, { code: 1008, reason: 'Rate limit exceeded' })
  const seen = flooder.received
  t.equal(seen.filter((m) => m.type === 'flood').length, 5, 'the burst went through')
  t.equal(seen.filter((m) => m.type === 'error' && m.code === 'rate_limited').length, 1, 'one warning first')
  const bystanderGot = await bystander.drain(100)
  t.equal(bystanderGot.filter((m) => m.type === 'flood').length, 5, 'the bystander saw only the burst')
  bystander.send({ type: 'still-fine' })
  t.match(await bystander.next(), { type: 'still-fine' })
  bystander.close()
})

t.test('a client over its rate that then slows down is forgiven', async (t) => {
  const built = await build(t, { WS_MESSAGES_PER_SECOND: '20', WS_MESSAGE_BURST: '2' })
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  for (let i = 0; i < 3; i++) socket.send({ type: 'burst', i })
  await socket.drain(300)
  for (let i = 0; i < 3; i++) socket.send({ type: 'burst-again', i })
  const got = await socket.drain(300)
  t.equal(got.filter((m) => m.type === 'error').length, 1, 'warned again, not closed')
  t.equal(socket.ws.readyState, WebSocket.OPEN)
  socket.close()
})

t.test('too many connections for one user closes with 1013', async (t) => {
  const built = await build(t, { WS_MAX_CONNECTIONS_PER_USER: '2' })
  const { access_token: token } = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const c = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`)
  t.same(await closedWithin(c), { code: 1013, reason: 'Too many connections' })
  a.close()
  await waitFor(() => built.app.hub.connectionsOf('user') === 1)
  const d = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.pass('a freed slot can be used again')
  b.close()
  d.close()
})

t.test('a client that never reads is closed with 1013 Slow consumer; memory stays bounded; others get everything', async (t) => {
  const built = await build(t, { WS_MAX_BUFFERED_BYTES: '262144', WS_MESSAGES_PER_SECOND: '100000', WS_MESSAGE_BURST: '100000' })
  const { access_token: token } = await built.login()
  const slow = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const reader = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const rawSocket = (slow.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  rawSocket.pause()
  const payload = 'x'.repeat(60_000)
  const total = 600
  for (let i = 0; i < total; i++) {
    const res = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'bulk', i, payload } })
    if (res.statusCode !== 202) throw new Error(`publish failed: ${res.statusCode}`)
  }
  await waitFor(() => built.app.hub.size === 1, 5000, 'slow consumer dropped from the hub')
  let delivered = 0
  for (let i = 0; i < total; i++) if ((await reader.next(5000)).type === 'bulk') delivered++
  t.equal(delivered, total, 'the reading client received every message')
  rawSocket.resume()
  t.same(await closedWithin(slow, 10_000), { code: 1013, reason: 'Slow consumer' })
  const bulk = slow.received.filter((m) => m.type === 'bulk').length
  t.ok(bulk < total, `the slow client got only what was buffered before the bound (${bulk} of ${total})`)
  reader.close()
})

t.test('a failure inside one socket\'s handling closes only that socket with 1011', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const healthy = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
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
})

t.test('a hostile run leaves no token, refresh token or password in any log line', async (t) => {
  const built = await build(t, { TOKEN_RATE_LIMIT: '5' })
  const tokens = await built.login()
  const secrets = [tokens.access_token, tokens.refresh_token ?? '', 'password', 'Wr0ng-Pa55word!']
  await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'Wr0ng-Pa55word!' } })
  await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
  await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: tokens.refresh_token } })
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
  for (let i = 0; i < 8; i++) await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'Wr0ng-Pa55word!' } })
  const logs = built.logs()
  for (const secret of secrets.filter((s) => s !== 'password')) {
    t.notOk(logs.includes(secret), `log lines do not contain ${secret.slice(0, 6)}…`)
  }
  const signature = tokens.access_token.split('.')[2] ?? ''
  t.notOk(logs.includes(signature), 'nor the access token signature')
  const passwordFields = logs.split('\n').filter((line) => line.includes('"password":'))
  t.same(passwordFields, [], 'no log line has a password field')
})

import type { IncomingMessage } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { build, waitFor, type Built } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'

// The upgrade router (src/realtime/upgrade.ts) and the /ws handshake that
// runs in it: who answers which path, plain GETs, the one log line per
// connection and its client IP, failures and shutdown. Credentials and
// refusals are covered one by one in ws-tokens.ts, limits.ts and hostile.ts.

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

interface RawAnswer {
  /** `HTTP/1.1 404 Not Found`, or '' when the server closed without a word. */
  readonly status: string
  readonly headers: string
  readonly body: string
  /** The server closed the connection (rather than the deadline cutting it). */
  readonly closedByServer: boolean
}

/** Sends `request` on a fresh TCP connection and reads until the server closes it, or 3 s pass. */
async function raw (built: Built, request: string): Promise<RawAnswer> {
  const port = Number(new URL(built.url).port)
  return await new Promise((resolve) => {
    let data = ''
    let cut = false
    const socket = netConnect(port, '127.0.0.1', () => { socket.write(request) })
    socket.on('data', (chunk) => { data += chunk.toString() })
    socket.on('error', () => {})
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n')
      const [status = '', ...headers] = head.split('\r\n')
      resolve({ status, headers: headers.join('\n').toLowerCase(), body, closedByServer: !cut })
    })
    socket.setTimeout(3000, () => {
      cut = true
      socket.destroy()
    })
  })
}

function upgradeRequest (path: string, extra = '', method = 'GET', upgrade = 'websocket'): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n${extra}\r\n`
}

function lines (built: Built): Json[] {
  return built.logs().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json)
}

const urlOf = (line: Json): string => String((line.req as Json | undefined)?.url ?? '')

t.test('who answers an upgrade', async (t) => {
  const built = await build(t)
  // Another endpoint's own socket server, as Socket.IO's would be.
  const other = new WebSocketServer({ noServer: true })
  t.teardown(() => { other.close() })
  built.app.upgrades.claim('/custom/', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    other.handleUpgrade(request, socket, head, (ws) => { ws.send('custom endpoint') })
  })
  // A prefix claimed without a handler: a listener of its own answers (engine.io attached with destroyUpgrade: false).
  built.app.upgrades.claim('/elsewhere/')
  const elsewhere = (request: IncomingMessage, socket: Duplex): void => {
    if (request.url?.startsWith('/elsewhere/') === true) socket.end('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  }
  built.app.server.on('upgrade', elsewhere)
  t.teardown(() => { built.app.server.removeListener('upgrade', elsewhere) })

  t.test('an unknown path is answered 404 in the API error body and closed, not left hanging', async (t) => {
    for (const path of ['/nope', '/ws/', '/wsx', '/admin/ws/extra', '/socket.io/?EIO=4&transport=websocket', '/health']) {
      const answer = await raw(built, upgradeRequest(path))
      t.equal(answer.status, 'HTTP/1.1 404 Not Found', `${path}: 404`)
      t.match(JSON.parse(answer.body), { error: 'not_found' }, `${path}: the API's error body`)
      t.ok(answer.closedByServer, `${path}: the server closed the connection`)
    }
  })

  t.test('a claimed prefix goes to its handler', async (t) => {
    const ws = new WebSocket(`${built.wsUrl}/custom/room?x=1`)
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => { resolve(String(data)) })
      ws.once('error', reject)
    })
    t.equal(first, 'custom endpoint')
    ws.close()
  })

  t.test('a prefix claimed without a handler is left to the listener that owns it', async (t) => {
    const answer = await raw(built, upgradeRequest('/elsewhere/x'))
    t.equal(answer.status, 'HTTP/1.1 418 I\'m a Teapot', 'the other listener answered, and the router wrote nothing')
  })

  t.test('a path is claimed once', async (t) => {
    t.throws(() => { built.app.upgrades.claim('/custom/') }, /claimed already/)
    t.throws(() => { built.app.upgrades.route('/ws', () => {}) }, /exists already/)
  })

  t.test('/ws without Upgrade: websocket is answered 426, with or without an Upgrade of another kind', async (t) => {
    for (const path of ['/ws', '/admin/ws', '/ws?token=x']) {
      const res = await fetch(`${built.url}${path}`)
      t.equal(res.status, 426, `GET ${path}: 426 Upgrade Required`)
      t.equal(res.headers.get('upgrade'), 'websocket')
      t.match(await res.json(), { error: 'invalid_request', error_description: /WebSocket only/ })
    }
    for (const [what, request] of [
      ['POST with Upgrade: websocket', upgradeRequest('/ws', 'Content-Length: 0\r\n', 'POST')],
      ['GET with Upgrade: h2c', upgradeRequest('/ws', '', 'GET', 'h2c')]
    ] as const) {
      const answer = await raw(built, request)
      t.equal(answer.status, 'HTTP/1.1 400 Bad Request', `${what}: 400`)
      t.match(JSON.parse(answer.body), { error: 'invalid_request' })
      t.ok(answer.closedByServer)
    }
  })
})

/** The client IP Fastify logs for an HTTP request with these headers (the request line of a 404). */
async function httpIp (built: Built, headers: Record<string, string>): Promise<string> {
  const path = `/no-such-route-${Math.random().toString(36).slice(2)}`
  await (await fetch(`${built.url}${path}`, { headers })).arrayBuffer()
  const line = lines(built).find((l) => urlOf(l) === path)
  return String((line?.req as Json | undefined)?.remoteAddress)
}

t.test('one log line per connection, with the client IP as Fastify reads it under TRUST_PROXY', async (t) => {
  const forwarded = { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }
  for (const [trust, expected] of [
    [undefined, '127.0.0.1'],
    ['true', '198.51.100.1'],
    ['1', '203.0.113.9'],
    ['127.0.0.1', '203.0.113.9'],
    ['loopback, 203.0.113.0/24', '198.51.100.1']
  ] as const) {
    t.test(`TRUST_PROXY=${trust ?? '(unset)'}`, async (t) => {
      const built = await build(t, trust === undefined ? {} : { TRUST_PROXY: trust })
      const { access_token: token } = await built.login()
      const socket = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`, { headers: { ...forwarded, 'user-agent': 'upgrade-test' } })
      const welcome = await socket.next()
      t.equal(welcome.type, 'connection_established')
      const ws = lines(built).filter((l) => urlOf(l).startsWith('/ws'))
      t.equal(ws.length, 1, 'one line for the connection')
      t.match(ws[0], {
        msg: 'websocket auth succeeded',
        ip: expected,
        endpoint: 'user',
        user: 'user',
        source: 'query',
        outcome: 'success',
        connectionId: String,
        req: { method: 'GET', url: '/ws?token=[redacted]', remoteAddress: expected, userAgent: 'upgrade-test' }
      })
      t.equal(ws[0]?.connectionId, welcome.connectionId, 'naming the connection the client was told')
      t.equal(await httpIp(built, forwarded), expected, 'the address Fastify gives an HTTP request with the same headers')
      socket.close()
      await closedWithin(socket)
    })
  }

  t.test('a pending socket, an access_token, a refusal: one line each', async (t) => {
    const built = await build(t, { WS_MAX_PENDING_PER_IP: '1' })
    const { access_token: token } = await built.login()
    const pending = await TestSocket.open(`${built.wsUrl}/ws`)
    await waitFor(() => lines(built).some((l) => urlOf(l) === '/ws'), 2000, 'the pending line')
    const refused = await raw(built, upgradeRequest('/admin/ws'))
    t.equal(refused.status, 'HTTP/1.1 429 Too Many Requests', 'a second pending socket from this address is refused')
    const viaAccessToken = await TestSocket.connect(`${built.wsUrl}/ws?access_token=${token}`)
    const ws = lines(built).filter((l) => /^\/(admin\/)?ws/.test(urlOf(l)))
    t.match(ws, [
      { msg: 'websocket connected, awaiting authenticate', outcome: 'pending', ip: '127.0.0.1', connectionId: String, req: { url: '/ws' } },
      { msg: 'websocket handshake refused', status: 429, refusal: 'pendingPerIp', endpoint: 'admin', ip: '127.0.0.1', req: { url: '/admin/ws' } },
      { msg: 'websocket auth succeeded', source: 'query', user: 'user', req: { url: '/ws?access_token=[redacted]' } }
    ])
    t.equal(ws.length, 3, 'and no other line about those handshakes')
    t.notOk(built.logs().includes(token), 'the token is in no line')
    for (const socket of [pending, viaAccessToken]) socket.close()
  })
})

t.test('a store failure during the handshake closes that socket with 1011; the server serves on', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  await built.app.db.destroy()
  const socket = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`)
  t.same(await closedWithin(socket), { code: 1011, reason: 'Internal error' })
  t.ok(lines(built).some((l) => l.msg === 'websocket authentication crashed' && l.ip === '127.0.0.1'), 'logged, with the IP')
  t.equal((await fetch(`${built.url}/ws`)).status, 426, 'still answering')
})

t.test('shutdown: 1001 to every socket, pending ones included; a handshake meanwhile gets 503', async (t) => {
  const built = await build(t)
  await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
  const { access_token: token } = await built.login()
  const admin = (await built.login('root', 'root-password')).access_token
  const open = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const pending = await TestSocket.open(`${built.wsUrl}/ws`)
  const adminSocket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
  // This one does not read, so it does not answer its close frame: the server waits for it, still listening.
  const stalled = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const tcp = (stalled.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  tcp.pause()
  const closing = built.app.close()
  for (const socket of [open, pending, adminSocket]) t.same(await closedWithin(socket), { code: 1001, reason: 'Server shutting down' })
  const late = await raw(built, upgradeRequest(`/ws?token=${token}`))
  t.equal(late.status, 'HTTP/1.1 503 Service Unavailable', 'a new handshake during shutdown')
  t.match(JSON.parse(late.body), { error: 'temporarily_unavailable', error_description: 'Server shutting down' })
  tcp.resume()
  t.same(await closedWithin(stalled), { code: 1001, reason: 'Server shutting down' })
  await closing
})

import { performance } from 'node:perf_hooks'
import t from 'tap'
import WebSocket from 'ws'
import { build, type Built, type TokenResponseBody } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'

// A socket's authentication over its life: the first message, the silence
// timeout, expiry while connected, in-band refresh, the revalidation sweep.

/** Default settings: a 10 s auth timeout never fires in these tests. */
const built = await build(t)

/**
 * Timers these tests wait out in real time, at the smallest values the config
 * accepts: the auth timeout, and the sweep; no clock tolerance, so a token
 * closes the socket at its `exp`.
 */
const AUTH_TIMEOUT_MS = 100
const fast = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0', WS_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS), WS_REVALIDATE_INTERVAL_MS: '50' })

/** A user of its own, so that no other test's sockets count among its connections. */
async function newUser (app: Built, username: string): Promise<TokenResponseBody> {
  const password = `${username}-password`
  await app.app.users.create({ username, passwordHash: await app.app.passwords.hash(password) })
  return await app.login(username, password)
}

/**
 * A token for the session of `accessToken` that lives at least `minMs` (exp
 * counts whole seconds, so up to a second more). Sign it after the slow setup.
 */
function shortLived (accessToken: string, minMs: number): string {
  const { sub, sid } = decodeJwtPart(accessToken, 1)
  return forgeToken({ sub, sid, roles: [], iat: nowSeconds(), exp: Math.ceil((Date.now() + minMs) / 1000) })
}

t.test('a socket without handshake credentials authenticates with its first message', async (t) => {
  const { access_token: token } = await built.login()
  const inHub = built.app.hub.size
  const socket = await TestSocket.open(`${built.wsUrl}/ws`)
  t.equal(built.app.hub.size, inHub, 'pending sockets are not in the hub')
  socket.send({ type: 'authenticate', token })
  t.match(await socket.next(), { type: 'authenticated', user: 'user' })
  t.match(await socket.next(), { type: 'connection_established', user: 'user' })
  socket.send({ type: 'test', payload: 1 })
  t.match(await socket.next(), { type: 'test', user: 'user', payload: 1 })
  socket.close()
})

t.test('a message sent in the same tick as open is not lost', async (t) => {
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
  // On the default app: its 10 s timeout cannot win the race against these.
  const chatty = await TestSocket.open(`${built.wsUrl}/ws`)
  chatty.send({ type: 'test' })
  t.same(await closedWithin(chatty), { code: 1008, reason: 'Missing authentication token' })
  const garbage = await TestSocket.open(`${built.wsUrl}/ws`)
  garbage.send('not json')
  t.same(await closedWithin(garbage), { code: 1008, reason: 'Missing authentication token' })
  // Timed from before the handshake, so the server's timer, started later,
  // cannot make this shorter than the timeout (but for the loop clock's
  // millisecond rounding); how much longer it takes depends on the machine.
  const started = performance.now()
  const silent = await TestSocket.open(`${fast.wsUrl}/ws`)
  t.same(await closedWithin(silent, 10_000), { code: 1008, reason: 'Authentication timeout' })
  t.ok(performance.now() - started >= AUTH_TIMEOUT_MS - 2, 'not before the timeout')
})

t.test('pending sockets receive nothing while others broadcast', async (t) => {
  const { access_token: token } = await built.login()
  const member = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const pending = await TestSocket.open(`${built.wsUrl}/ws`)
  for (let i = 0; i < 5; i++) member.send({ type: 'broadcast', i })
  for (let i = 0; i < 5; i++) t.match(await member.next(), { type: 'broadcast', i })
  // Fan-out is synchronous: the broadcasts were written to every recipient
  // before the member got its copies, so on the pending socket they would
  // come before the answer to its authenticate.
  pending.send({ type: 'authenticate', token })
  t.same(await pending.until((m) => m.type === 'authenticated'), [], 'nothing reached the pending socket')
  t.match(await pending.next(), { type: 'connection_established' })
  t.same(await pending.receivedBeforePong(), [], 'and no backlog afterwards')
  member.close()
  pending.close()
})

t.test('a token that expires while connected', async (t) => {
  const bob = await newUser(fast, 'bob')
  const tokens = await fast.login()
  const grant = await fast.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
  const fresh = grant.json<{ access_token: string }>().access_token
  // One short-lived token for three sockets, so that their expiries are
  // waited out together; everything slow is done before it is signed.
  const expiring = shortLived(fresh, 1000)
  const oldExpiry = decodeJwtPart(expiring, 1).exp
  const url = `${fast.wsUrl}/ws?token=${expiring}`
  const [plain, refreshed, refused] = await Promise.all([TestSocket.connect(url), TestSocket.connect(url), TestSocket.connect(url)])

  await t.test('in-band refresh moves the expiry', async (t) => {
    refreshed.send({ type: 'refresh', token: fresh, requestId: 'r-1' })
    const reply = await refreshed.next()
    t.equal(reply.type, 'refreshed')
    t.equal(reply.requestId, 'r-1')
    t.equal(reply.expiresAt, decodeJwtPart(fresh, 1).exp, 'the new expiry')
    t.not(reply.expiresAt, oldExpiry)
  })

  await t.test('a refresh with another user\'s or a bad token is refused', async (t) => {
    refused.send({ type: 'refresh', token: bob.access_token })
    t.match(await refused.next(), { type: 'error', code: 'invalid_token', message: /another user/ })
    refused.send({ type: 'refresh', token: 'garbage' })
    t.match(await refused.next(), { type: 'error', code: 'invalid_token' })
    refused.send({ type: 'refresh' })
    t.match(await refused.next(), { type: 'error', code: 'invalid_message' })
  })

  await t.test('at the old expiry, sockets that did not refresh close with Token expired', async (t) => {
    t.same(await closedWithin(plain, 10_000), { code: 1008, reason: 'Token expired' }, 'the socket that did not refresh')
    t.same(await closedWithin(refused, 10_000), { code: 1008, reason: 'Token expired' }, 'a refused refresh keeps the old expiry')
    t.equal(refreshed.ws.readyState, WebSocket.OPEN, 'the refreshed one is still open')
    refreshed.send({ type: 'ping' })
    t.match(await refreshed.next(), { type: 'pong' })
  })
  refreshed.close()
})

t.test('changes made outside the server reach live sockets on the next sweep', async (t) => {
  const dave = await newUser(fast, 'dave')
  const user = await fast.login()
  const userSocket = await TestSocket.connect(`${fast.wsUrl}/ws?token=${user.access_token}`)
  const daveSocket = await TestSocket.connect(`${fast.wsUrl}/ws?token=${dave.access_token}`)
  const testSocket = await TestSocket.connect(`${fast.wsUrl}/ws?token=${fast.app.tokens.testToken ?? ''}`)

  // As the users CLI does it: straight to the database, no broker event.
  await fast.app.users.setDisabled('dave', true)
  t.same(await closedWithin(daveSocket, 10_000), { code: 1008, reason: 'Session revoked' }, 'disabled user closed')

  const sid = decodeJwtPart(user.access_token, 1).sid
  if (typeof sid !== 'string') throw new Error('the access token has no sid')
  await fast.app.sessionStore.revoke(sid, 'test')
  t.same(await closedWithin(userSocket, 10_000), { code: 1008, reason: 'Session revoked' }, 'revoked session closed')

  testSocket.send({ type: 'ping' })
  t.match(await testSocket.next(), { type: 'pong' }, 'the test token has no session and is left alone')
  testSocket.close()
})

t.test('get_status reports the caller\'s own view', async (t) => {
  const { access_token: token } = await newUser(built, 'carol')
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const other = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'get_status' })
  const status = await socket.next()
  t.match(status, { type: 'status', user: 'carol', roles: [], connections: 2, channels: [{ channel: 'global', offset: Number, epoch: String }] })
  t.equal(status.expiresAt, decodeJwtPart(token, 1).exp)
  socket.close()
  other.close()
})

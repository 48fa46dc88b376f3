import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import {
  backoffDelay, Close, closeAction, decodeClaims, fetchTestToken, login, maskSecrets, maskToken, refresh, revoke, tokenExpiry,
  TokenSession, WsgateClient, WsgateHttpError, type Transport
} from '../../src/client/index.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'
import { build, testEnv, waitFor, type Built, type TestContext } from '../helper.js'
import { closedWithin, TestSocket } from '../ws-client.js'
import { Recorder } from './recorder.js'
import { renderHook } from './render-hook.js'

/** The client SDK: its tables and helpers, then the client and the React hook in Node against a real app, with `ws` as the WebSocket. */

function track (t: TestContext, client: WsgateClient): WsgateClient {
  t.teardown(() => { client.disconnect() })
  return client
}

/** A token for the logged-in session that expires `seconds` after the current whole second. */
function shortLived (accessToken: string, seconds: number): string {
  const { sid } = decodeJwtPart(accessToken, 1)
  return forgeToken({ sub: 'user', sid, roles: [], iat: nowSeconds(), exp: nowSeconds() + seconds })
}

async function sessionClient (t: TestContext, built: Built, session: TokenSession, extra: { refreshBeforeMs?: number | false } = {}): Promise<{ client: WsgateClient, rec: Recorder }> {
  const rec = new Recorder()
  const client = track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, getToken: session.getToken, ...extra, ...rec.options }))
  client.connect()
  await rec.status('open')
  return { client, rec }
}

// One app for every test that needs no limit of its own, built before the
// first test is queued (tap ends the file once its queue runs empty). Each
// test uses its own login session, or its own user where it counts sockets,
// so they do not see each other. No clock tolerance: the expiry tests see
// the server close a socket at its token's `exp`.
const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })

t.test('every close in the protocol table has the action docs/PROTOCOL.md gives it', async (t) => {
  const expected: Record<keyof typeof Close, string> = {
    missingToken: 'login',
    authTimeout: 'reconnect',
    tokenExpired: 'refresh',
    invalidToken: 'login',
    invalidPayload: 'login',
    sessionRevoked: 'login',
    forbidden: 'login',
    rateLimited: 'reconnect',
    originNotAllowed: 'stop',
    binaryNotSupported: 'stop',
    messageTooBig: 'stop',
    tooManyConnections: 'reconnect',
    slowConsumer: 'reconnect',
    internalError: 'reconnect',
    shuttingDown: 'reconnect'
  }
  for (const [name, spec] of Object.entries(Close)) {
    t.equal(closeAction(spec.code, spec.reason), expected[name as keyof typeof Close], `${spec.code} ${spec.reason}`)
  }
  t.equal(closeAction(1006, ''), 'reconnect', 'no close frame: network or crash')
  t.equal(closeAction(1000, 'bye'), 'stop')
  t.equal(closeAction(1008, 'Something new'), 'stop', 'an unknown policy close is not retried')
})

t.test('backoff: full jitter under an exponential ceiling', async (t) => {
  const options = { baseMs: 100, maxMs: 1000 }
  t.same([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0.999999)), [99, 199, 399, 799, 999, 999])
  t.equal(backoffDelay(3, options, () => 0), 0, 'jitter reaches down to zero')
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(2, options)
    t.ok(delay >= 0 && delay < 400, 'within [0, base·2ⁿ)') || t.fail(`delay ${delay}`)
  }
  t.equal(backoffDelay(1000, options, () => 0.5), 500, 'huge attempts do not overflow')
})

t.test('tokens are read, never shown whole', async (t) => {
  const token = forgeToken({ sub: 'zoë', exp: 2000000000, roles: ['admin'] })
  t.match(decodeClaims(token), { sub: 'zoë', roles: ['admin'] }, 'UTF-8 claims decode')
  t.equal(tokenExpiry(token), 2000000000)
  t.equal(tokenExpiry('not-a-jwt'), null)
  t.equal(decodeClaims('a.%%%.c'), undefined)
  t.equal(maskToken(token), `${token.slice(0, 4)}…${token.slice(-4)}`)
  t.equal(maskToken('short'), '***')
  t.same(maskSecrets({ type: 'authenticate', token, nested: [{ refresh_token: token }], password: 'hunter2' }),
    { type: 'authenticate', token: maskToken(token), nested: [{ refresh_token: maskToken(token) }], password: '***' })
})

t.test('HTTP helpers: login, refresh with rotation, revoke, test token, typed errors', async (t) => {
  const tokens = await login(built.url, 'user', 'password')
  t.match(tokens, { token_type: 'bearer', expires_in: 1800, access_token: /^eyJ/ })
  const wrong = await login(built.url, 'user', 'nope').catch((err: unknown) => err)
  t.ok(wrong instanceof WsgateHttpError)
  t.match(wrong, { status: 401, error: 'invalid_grant', description: 'Incorrect username or password', needsLogin: true })
  const rotated = await refresh(built.url, tokens.refresh_token ?? '')
  t.not(rotated.refresh_token, tokens.refresh_token, 'the refresh token rotates')
  t.match(await refresh(built.url, tokens.refresh_token ?? '').catch((err: unknown) => err), { status: 400, error: 'invalid_grant' }, 'the old one is dead')
  await revoke(built.url, rotated.refresh_token ?? '', 'refresh_token')
  t.match(await fetchTestToken(built.url), /^eyJ/)
})

for (const transport of ['query', 'subprotocol', 'message'] as Transport[]) {
  t.test(`connects with the token in the ${transport} and round-trips a message`, async (t) => {
    const { access_token: token } = await built.login()
    const rec = new Recorder()
    const client = track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, token, transport, ...rec.options }))
    client.connect()
    await rec.status('open')
    t.match(await rec.message((m) => m.type === 'connection_established'), { user: 'user', expiresAt: decodeJwtPart(token, 1).exp })
    t.ok(client.send({ type: 'test', payload: { n: 1 } }))
    t.match(await rec.message((m) => m.type === 'test'), { payload: { n: 1 }, user: 'user', requestId: /^[0-9a-f-]{36}$/ })
    t.ok(client.ping())
    await rec.message((m) => m.type === 'pong')
    client.disconnect()
    t.equal(client.status, 'closed')
    t.notOk(client.send({ type: 'test' }), 'send after disconnect reports false')
    t.same(rec.closes, [], 'a close the client asked for is not reported as a server close')
  })
}

t.test('useWsgate connects, collects messages, sends, and closes on unmount', async (t) => {
  // A user of its own: the test counts that user's sockets on the shared app.
  await built.app.users.create({ username: 'hook', passwordHash: await built.app.passwords.hash('hook-password') })
  const { access_token: token } = await built.login('hook', 'hook-password')
  const { WebSocket } = new Recorder().options
  const hook = renderHook({ url: `${built.wsUrl}/ws`, token, WebSocket, maxMessages: 2 })
  t.teardown(() => { hook.unmount() })
  await waitFor(() => hook.result().status === 'open', 10_000, 'open')
  t.ok(hook.result().send({ type: 'test', n: 1 }))
  t.ok(hook.result().send({ type: 'test', n: 2 }))
  await waitFor(() => hook.result().messages.some((m) => m.n === 2), 10_000, 'echo')
  t.same(hook.result().messages.map((m) => m.n), [1, 2], 'capped at maxMessages: connection_established was dropped')
  // A re-render with a fresh options object must not reconnect.
  hook.rerender({ url: `${built.wsUrl}/ws`, token, WebSocket, maxMessages: 2 })
  t.equal(hook.result().status, 'open')
  t.equal(built.app.hub.connectionsOf('hook'), 1, 'one socket across the renders')
  hook.unmount()
  await waitFor(() => built.app.hub.connectionsOf('hook') === 0, 10_000, 'the socket closed')
  t.equal(hook.result().send({ type: 'test' }), false, 'send after unmount reports false')
})

t.test('reconnects after a server restart (1001) with the same token', async (t) => {
  const first = await build(t)
  const { access_token: token } = await first.login()
  const rec = new Recorder()
  const client = track(t, new WsgateClient({ url: `${first.wsUrl}/ws`, token, backoff: { baseMs: 50, maxMs: 200 }, ...rec.options }))
  client.connect()
  await rec.status('open')
  await first.app.close()
  const info = await rec.status('reconnecting')
  t.match(info.close, { code: 1001, reason: 'Server shutting down', action: 'reconnect' })
  // Same database, secret and port: the session and the token still hold.
  const again = await buildApp(loadConfig(testEnv(first.dir)))
  t.teardown(async () => { await again.close() })
  await again.listen({ host: '127.0.0.1', port: Number(new URL(first.url).port) })
  await rec.status('open', 2)
  t.equal(rec.messages.filter((m) => m.type === 'connection_established').length, 2)
})

t.test('stops with needs-login after Session revoked instead of retrying', async (t) => {
  const session = await TokenSession.login(built.url, 'user', 'password')
  const { client, rec } = await sessionClient(t, built, session)
  await revoke(built.url, session.refreshToken ?? '')
  const info = await rec.status('needs-login')
  t.match(info.close, { code: 1008, reason: 'Session revoked', action: 'login' })
  // Without a socket, only a scheduled task could make another attempt.
  t.equal(rec.pending, 0, 'nothing is scheduled: no further attempt can come')
  t.equal(rec.count('connecting'), 1, 'no further attempt was made')
  t.equal(client.status, 'needs-login')
})

// These wait on real time (a token's expiry, backoff delays) more than they
// work, so they run side by side.
t.test('on real timers', { jobs: 4 }, async (t) => {
  t.test('reconnects after 1013 with exponential backoff, then connects once there is room', async (t) => {
    const limited = await build(t, { WS_MAX_CONNECTIONS_PER_USER: '1' })
    const { access_token: token } = await limited.login()
    const holder = await TestSocket.connect(`${limited.wsUrl}/ws?token=${token}`)
    const rec = new Recorder()
    // random() = 1 takes the top of each jitter range, so the delays are exact.
    const client = track(t, new WsgateClient({ url: `${limited.wsUrl}/ws`, token, backoff: { baseMs: 40, maxMs: 200 }, random: () => 1, ...rec.options }))
    client.connect()
    await rec.status('reconnecting', 4)
    const retries = rec.statuses.filter((s) => s.status === 'reconnecting').map((s) => s.info)
    t.same(retries.map((i) => i.delayMs), [40, 80, 160, 200], 'doubling, capped at maxMs')
    t.same(rec.scheduled.slice(0, 4), [40, 80, 160, 200], 'and those are the waits')
    t.same(retries.map((i) => i.attempt), [1, 2, 3, 4])
    t.match(retries[0]?.close, { code: 1013, reason: 'Too many connections', action: 'reconnect' })
    holder.close()
    await rec.status('open')
    t.equal(client.lastClose?.code, 1013)
  })

  t.test('refreshes in band before expiry and stays connected past the old expiry', async (t) => {
    const tokens = await built.login()
    const short = shortLived(tokens.access_token, 3)
    const oldExp = Number(decodeJwtPart(short, 1).exp)
    // A socket of the same session whose token expires one second after the
    // client's first token, and is never refreshed. When the server closes it,
    // the server's clock has passed the client's old expiry by a second, so
    // an expiry timer the refresh failed to move would have fired before.
    const { sid } = decodeJwtPart(tokens.access_token, 1)
    const witness = await TestSocket.connect(`${built.wsUrl}/ws?token=${forgeToken({ sub: 'user', sid, roles: [], iat: nowSeconds(), exp: oldExp + 1 })}`)
    // refreshMarginMs 0: connect with the short token as is, so the in-band refresh is what saves it.
    const session = new TokenSession(built.url, { ...tokens, access_token: short }, { refreshMarginMs: 0 })
    const { client, rec } = await sessionClient(t, built, session, { refreshBeforeMs: 2500 })
    // Read from the handshake's answer: on a busy machine the refresh may already have moved client.expiresAt.
    t.equal(rec.messages.find((m) => m.type === 'connection_established')?.expiresAt, oldExp, 'connected with the short token')
    const refreshed = await rec.message((m) => m.type === 'refreshed')
    t.equal(refreshed.expiresAt, decodeJwtPart(session.accessToken, 1).exp, 'the new token\'s expiry')
    t.equal(client.expiresAt, refreshed.expiresAt)
    t.same(await closedWithin(witness, 10_000), { code: 1008, reason: 'Token expired' }, 'the server is past the old expiry')
    // The server answers a socket's messages in order: a pong now means the socket outlived the old expiry.
    t.ok(client.ping())
    await rec.message((m) => m.type === 'pong')
    t.equal(client.status, 'open', 'still open after the old token expired')
    t.same(rec.closes, [])
    t.equal(rec.count('connecting'), 1, 'no reconnect was needed')
  })

  t.test('after Token expired, gets a fresh token and reconnects', async (t) => {
    const tokens = await built.login()
    const session = new TokenSession(built.url, { ...tokens, access_token: shortLived(tokens.access_token, 2) }, { refreshMarginMs: 0 })
    const { rec } = await sessionClient(t, built, session, { refreshBeforeMs: false })
    const info = await rec.status('reconnecting')
    t.match(info.close, { code: 1008, reason: 'Token expired', action: 'refresh' })
    await rec.status('open', 2)
    const established = rec.messages.filter((m) => m.type === 'connection_established')
    t.ok(Number(established[1]?.expiresAt) > nowSeconds() + 60, 'connected again with a fresh token')
  })

  t.test('a fixed token that expires ends in needs-login: there is no way to get another', async (t) => {
    const { access_token: token } = await built.login()
    const rec = new Recorder()
    track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, token: shortLived(token, 1), ...rec.options })).connect()
    const info = await rec.status('needs-login')
    t.match(info.error, /Token expired/)
    t.equal(rec.pending, 0, 'and nothing is left scheduled')
  })
})

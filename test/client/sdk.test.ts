import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import {
  fetchTestToken, login, refresh, revoke, TokenSession, WsgateClient, WsgateHttpError, type Transport
} from '../../src/client/index.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'
import { build, testEnv, type Built, type TestContext } from '../helper.js'
import { TestSocket } from '../ws-client.js'
import { Recorder } from './recorder.js'

/** The SDK in Node against a real app, with the `ws` package as its WebSocket. */

function track (t: TestContext, client: WsgateClient): WsgateClient {
  t.teardown(() => { client.disconnect() })
  return client
}

/** A token for the logged-in session that expires in `seconds`. */
function shortLived (accessToken: string, seconds: number): string {
  const { sid } = decodeJwtPart(accessToken, 1)
  return forgeToken({ sub: 'user', sid, roles: [], iat: nowSeconds(), exp: nowSeconds() + seconds })
}

t.test('HTTP helpers: login, refresh with rotation, revoke, test token, typed errors', async (t) => {
  const built = await build(t)
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
    const built = await build(t)
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

t.test('reconnects after 1013 with exponential backoff, then connects once there is room', async (t) => {
  const built = await build(t, { WS_MAX_CONNECTIONS_PER_USER: '1' })
  const { access_token: token } = await built.login()
  const holder = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const rec = new Recorder()
  // random() = 1 takes the top of each jitter range, so the delays are exact.
  const client = track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, token, backoff: { baseMs: 40, maxMs: 200 }, random: () => 1, ...rec.options }))
  client.connect()
  await rec.status('reconnecting', 4)
  const retries = rec.statuses.filter((s) => s.status === 'reconnecting').map((s) => s.info)
  t.same(retries.map((i) => i.delayMs), [40, 80, 160, 200], 'doubling, capped at maxMs')
  t.same(retries.map((i) => i.attempt), [1, 2, 3, 4])
  t.match(retries[0]?.close, { code: 1013, reason: 'Too many connections', action: 'reconnect' })
  holder.close()
  await rec.status('open', 1, 3000)
  t.equal(client.lastClose?.code, 1013)
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
  await rec.status('open', 2, 5000)
  t.equal(rec.messages.filter((m) => m.type === 'connection_established').length, 2)
})

async function sessionClient (t: TestContext, built: Built, session: TokenSession, extra: { refreshBeforeMs?: number | false } = {}): Promise<{ client: WsgateClient, rec: Recorder }> {
  const rec = new Recorder()
  const client = track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, getToken: session.getToken, ...extra, ...rec.options }))
  client.connect()
  await rec.status('open')
  return { client, rec }
}

t.test('stops with needs-login after Session revoked instead of retrying', async (t) => {
  const built = await build(t)
  const session = await TokenSession.login(built.url, 'user', 'password')
  const { client, rec } = await sessionClient(t, built, session)
  await revoke(built.url, session.refreshToken ?? '')
  const info = await rec.status('needs-login')
  t.match(info.close, { code: 1008, reason: 'Session revoked', action: 'login' })
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(rec.count('connecting'), 1, 'no further attempt')
  t.equal(client.status, 'needs-login')
})

t.test('refreshes in band before expiry and stays connected past the old expiry', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const tokens = await built.login()
  const short = shortLived(tokens.access_token, 3)
  // refreshMarginMs 0: connect with the 3 s token as is, so the in-band refresh is what saves it.
  const session = new TokenSession(built.url, { ...tokens, access_token: short }, { refreshMarginMs: 0 })
  const { client, rec } = await sessionClient(t, built, session, { refreshBeforeMs: 2000 })
  t.equal(client.expiresAt, decodeJwtPart(short, 1).exp)
  const refreshed = await rec.message((m) => m.type === 'refreshed', 3000)
  t.equal(refreshed.expiresAt, decodeJwtPart(session.accessToken, 1).exp, 'the new token\'s expiry')
  t.equal(client.expiresAt, refreshed.expiresAt)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.equal(client.status, 'open', 'still open after the old token expired')
  t.same(rec.closes, [])
  t.equal(rec.count('connecting'), 1, 'no reconnect was needed')
})

t.test('after Token expired, gets a fresh token and reconnects', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const tokens = await built.login()
  const session = new TokenSession(built.url, { ...tokens, access_token: shortLived(tokens.access_token, 2) }, { refreshMarginMs: 0 })
  const { rec } = await sessionClient(t, built, session, { refreshBeforeMs: false })
  const info = await rec.status('reconnecting', 1, 4000)
  t.match(info.close, { code: 1008, reason: 'Token expired', action: 'refresh' })
  await rec.status('open', 2)
  const established = rec.messages.filter((m) => m.type === 'connection_established')
  t.ok(Number(established[1]?.expiresAt) > nowSeconds() + 60, 'connected again with a fresh token')
})

t.test('a fixed token that expires ends in needs-login: there is no way to get another', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const { access_token: token } = await built.login()
  const rec = new Recorder()
  track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, token: shortLived(token, 1), ...rec.options })).connect()
  const info = await rec.status('needs-login', 1, 4000)
  t.match(info.error, /Token expired/)
})

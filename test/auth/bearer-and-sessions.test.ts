import t, { type Test } from 'tap'
import { build, type Built } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { base64url, decodeJwtPart, forgeToken, nowSeconds } from './forge.js'
import { claimsSuite } from './token-claims.js'

// What an issued token is good for, and how its session ends: Bearer on /me,
// the test token, refresh rotation and revocation. One app serves every test
// that does not need another configuration; a test that disables a user makes
// a user of its own, so that the shared demo user stays usable.

type Json = Record<string, unknown>

interface Reply {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: Json
}

async function me (built: Built, authorization?: string): Promise<Reply> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
  const res = await built.app.inject({ method: 'GET', url: '/me', headers })
  return { status: res.statusCode, headers: res.headers, body: res.json<Json>() }
}

async function meWith (built: Built, token: string): Promise<Reply> {
  return await me(built, `Bearer ${token}`)
}

/** RFC 6750 §3: 401 with a challenge naming invalid_token, and the usual error body. */
function assertRefused (t: Test, reply: Reply, what: string, description?: string): void {
  t.equal(reply.status, 401, `${what}: 401`)
  const challenge = reply.headers['www-authenticate']
  t.type(challenge, 'string', `${what}: has a challenge`)
  t.match(String(challenge), /^Bearer /, `${what}: Bearer challenge`)
  t.match(String(challenge), 'error="invalid_token"', `${what}: challenge names invalid_token`)
  t.equal(reply.body.error, 'invalid_token', `${what}: error`)
  t.equal(reply.body.error_description, reply.body.detail, `${what}: detail`)
  if (description !== undefined) t.equal(reply.body.error_description, description, `${what}: description`)
  t.notOk('username' in reply.body, `${what}: no identity in the body`)
}

/** A token the server would accept: right secret, HS256, a real user, live. No `sid`: forged tokens belong to no stored session. */
function claims (extra: object = {}): Json {
  const now = nowSeconds()
  return { sub: 'user', iat: now, exp: now + 1800, roles: [], ...extra }
}

const built = await build(t)

t.test('a token from /token works on /me', async (t) => {
  const { access_token: token } = await built.login()
  const reply = await meWith(built, token)
  t.equal(reply.status, 200)
  t.same(reply.body, { username: 'user', roles: [] })
})

t.test('the forge helper makes tokens the server accepts (so refusals below are about the one change)', async (t) => {
  const reply = await meWith(built, forgeToken(claims()))
  t.equal(reply.status, 200)
  t.same(reply.body, { username: 'user', roles: [] })
  t.equal((await me(built, `bearer ${forgeToken(claims())}`)).status, 200, 'the scheme is case-insensitive')
})

t.test('no Authorization header: 401 with a bare Bearer challenge', async (t) => {
  const reply = await me(built)
  t.equal(reply.status, 401)
  t.equal(reply.headers['www-authenticate'], 'Bearer')
  t.equal(reply.body.error, 'invalid_token')
  t.equal(reply.body.error_description, reply.body.detail)
})

t.test('an Authorization header that is not Bearer is treated as missing', async (t) => {
  for (const header of ['Basic dXNlcjpwYXNzd29yZA==', 'Bearer', 'Bearer ', 'Token abc']) {
    const reply = await me(built, header)
    t.equal(reply.status, 401, header)
    t.match(String(reply.headers['www-authenticate']), /^Bearer/, header)
  }
})

t.test('garbage tokens are invalid_token', async (t) => {
  for (const token of ['abc', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9..', '...', `${base64url('{')}.${base64url('{}')}.x`]) {
    assertRefused(t, await meWith(built, token), JSON.stringify(token), 'Invalid token')
  }
})

t.test('alg none with an empty signature is refused', async (t) => {
  assertRefused(t, await meWith(built, forgeToken(claims(), { alg: 'none' })), 'alg none', 'Invalid token')
  // And the same with a capitalised variant some libraries accept.
  assertRefused(t, await meWith(built, forgeToken(claims(), { alg: 'none', header: { alg: 'None' } })), 'alg None', 'Invalid token')
})

t.test('HS512 signed with the right secret is refused: the algorithm is pinned', async (t) => {
  assertRefused(t, await meWith(built, forgeToken(claims(), { alg: 'HS512' })), 'HS512', 'Invalid token')
  assertRefused(t, await meWith(built, forgeToken(claims(), { alg: 'HS384' })), 'HS384', 'Invalid token')
})

t.test('a payload changed after signing is refused', async (t) => {
  const [header, , signature] = forgeToken(claims()).split('.')
  const tampered = `${header ?? ''}.${base64url(claims({ sub: 'admin', roles: ['admin'] }))}.${signature ?? ''}`
  assertRefused(t, await meWith(built, tampered), 'tampered sub', 'Invalid token')

  const { access_token: real } = await built.login()
  const [h, p, s] = real.split('.')
  const payload = decodeJwtPart(real, 1)
  const extended = `${h ?? ''}.${base64url({ ...payload, exp: Number(payload.exp) + 86400 })}.${s ?? ''}`
  assertRefused(t, await meWith(built, extended), 'real token with a longer exp', 'Invalid token')
  t.equal((await meWith(built, `${h ?? ''}.${p ?? ''}.${s ?? ''}`)).status, 200, 'the untouched token still works')
})

t.test('a token signed with another secret is refused', async (t) => {
  assertRefused(t, await meWith(built, forgeToken(claims(), { secret: 'another-secret-that-is-also-32-bytes-long!' })), 'wrong secret', 'Invalid token')
})

t.test('an expired token says so, so the client knows to refresh', async (t) => {
  const now = nowSeconds()
  const reply = await meWith(built, forgeToken(claims({ iat: now - 7200, exp: now - 3600 })))
  assertRefused(t, reply, 'expired 1 h ago', 'Token expired')
})

t.test('a token expired within the clock tolerance still works', async (t) => {
  // One second past exp: at least 3 s of the default 5 s tolerance remain for the request itself.
  const now = nowSeconds()
  const reply = await meWith(built, forgeToken(claims({ iat: now - 1800, exp: now - 1 })))
  t.equal(reply.status, 200)
  t.same(reply.body, { username: 'user', roles: [] })
})

t.test('a token not valid before an hour from now is refused', async (t) => {
  const now = nowSeconds()
  assertRefused(t, await meWith(built, forgeToken(claims({ nbf: now + 3600 }))), 'nbf in 1 h')
})

t.test('a token without exp is refused', async (t) => {
  const { exp, ...noExp } = claims()
  t.type(exp, 'number')
  assertRefused(t, await meWith(built, forgeToken(noExp)), 'no exp')
})

t.test('a verified token without a usable sub is Invalid token payload', async (t) => {
  const { sub, ...noSub } = claims()
  t.equal(sub, 'user')
  assertRefused(t, await meWith(built, forgeToken(noSub)), 'no sub', 'Invalid token payload')
  assertRefused(t, await meWith(built, forgeToken(claims({ sub: '' }))), 'empty sub', 'Invalid token payload')
  assertRefused(t, await meWith(built, forgeToken(claims({ sub: 42 }))), 'numeric sub', 'Invalid token payload')
})

t.test('a token for a user that does not exist is refused', async (t) => {
  assertRefused(t, await meWith(built, forgeToken(claims({ sub: 'ghost' }))), 'unknown user', 'Invalid token')
})

t.test('a token over 8 KiB is refused', async (t) => {
  const token = forgeToken(claims({ padding: 'x'.repeat(9000) }))
  t.ok(Buffer.byteLength(token) > 8192, `${token.length} bytes`)
  assertRefused(t, await meWith(built, token), 'oversized', 'Invalid token')
})

t.test('a crit header naming an unknown extension is refused', async (t) => {
  const token = forgeToken(claims(), { header: { crit: ['x-unknown-ext'], 'x-unknown-ext': true } })
  assertRefused(t, await meWith(built, token), 'crit', 'Invalid token')
})

/** A user of the test's own in the shared app, without roles like the demo user. */
async function addUser (b: Built, username: string, password = 'its-password'): Promise<void> {
  await b.app.users.create({ username, passwordHash: await b.app.passwords.hash(password) })
}

t.test('a disabled user\'s still-valid token stops working at once', async (t) => {
  await addUser(built, 'bearer-disabled')
  const { access_token: token } = await built.login('bearer-disabled', 'its-password')
  t.equal((await meWith(built, token)).status, 200, 'works before')
  t.equal((await meWith(built, forgeToken(claims({ sub: 'bearer-disabled' })))).status, 200, 'a forged token for the user works before')
  t.ok(await built.app.users.setDisabled('bearer-disabled', true))
  assertRefused(t, await meWith(built, token), 'disabled user', 'Invalid token')
  assertRefused(t, await meWith(built, forgeToken(claims({ sub: 'bearer-disabled' }))), 'disabled user, forged token', 'Invalid token')
  t.ok(await built.app.users.setDisabled('bearer-disabled', false))
  t.equal((await meWith(built, token)).status, 200, 'works again once re-enabled')
})

interface TestTokenBody {
  test_token: string
  note: string
}

function isTestTokenBody (value: unknown): value is TestTokenBody {
  return typeof value === 'object' && value !== null &&
    typeof (value as Json).test_token === 'string' && typeof (value as Json).note === 'string'
}

async function getTestToken (t: Test, b: Built): Promise<string> {
  const res = await b.app.inject({ method: 'GET', url: '/test-token' })
  t.equal(res.statusCode, 200, '/test-token is served')
  const body: unknown = res.json()
  t.ok(isTestTokenBody(body), 'body is { test_token, note }')
  t.equal(res.headers['cache-control'], 'no-store')
  return isTestTokenBody(body) ? body.test_token : ''
}

t.test('/test-token serves a non-expiring token for the test user', async (t) => {
  const token = await getTestToken(t, built)
  const payload = decodeJwtPart(token, 1)
  t.equal(payload.sub, 'user')
  t.notOk('exp' in payload, 'no exp claim')
  t.equal(decodeJwtPart(token, 0).alg, 'HS256')
  const reply = await meWith(built, token)
  t.equal(reply.status, 200)
  t.same(reply.body, { username: 'user', roles: [] })
})

t.test('only the current test token may lack exp', async (t) => {
  const token = await getTestToken(t, built)
  const payload = decodeJwtPart(token, 1)
  // Same claims, re-signed: a different string, so it is judged as an ordinary token.
  const lookalike = forgeToken({ ...payload, jti: 'another' })
  assertRefused(t, await meWith(built, lookalike), 'a no-exp copy of the test token')
})

t.test('WS_TEST_TOKEN is served verbatim and works as the test user', async (t) => {
  const b = await build(t, { WS_TEST_TOKEN: 'my-fixed-dev-token' })
  t.equal(await getTestToken(t, b), 'my-fixed-dev-token')
  const reply = await meWith(b, 'my-fixed-dev-token')
  t.equal(reply.status, 200)
  t.same(reply.body, { username: 'user', roles: [] })
  assertRefused(t, await meWith(b, 'my-fixed-dev-tokeN'), 'one character off', 'Invalid token')
})

t.test('TEST_TOKEN_ENABLED=false: no /test-token, and the token it would serve does not work', async (t) => {
  const b = await build(t, { TEST_TOKEN_ENABLED: 'false', WS_TEST_TOKEN: 'my-fixed-dev-token' })
  const res = await b.app.inject({ method: 'GET', url: '/test-token' })
  t.equal(res.statusCode, 404)
  const body = res.json<Json>()
  t.type(body.error, 'string')
  t.equal(body.error_description, body.detail)
  assertRefused(t, await meWith(b, 'my-fixed-dev-token'), 'disabled WS_TEST_TOKEN', 'Invalid token')
})

// Sessions: refresh rotation, reuse detection and revocation, with the sockets
// they close.

t.test('the password grant returns a refresh token; refresh rotates it', async (t) => {
  const first = await built.login()
  t.type(first.refresh_token, 'string')
  const refreshed = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.headers['cache-control'], 'no-store')
  const second = refreshed.json<{ access_token: string, refresh_token: string, expires_in: number }>()
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
  t.equal(second.expires_in, 1800)
  const me = await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${second.access_token}` } })
  t.equal(me.statusCode, 200, 'the new access token works')
  t.equal(decodeJwtPart(second.access_token, 1).sid, decodeJwtPart(first.access_token, 1).sid, 'same session')
  const stored = await built.app.db.selectFrom('refresh_tokens').select(['token_hash']).execute()
  t.notOk(stored.some((r) => r.token_hash === first.refresh_token || r.token_hash === second.refresh_token), 'only hashes are stored')
})

t.test('reusing a rotated refresh token revokes the whole family', async (t) => {
  const first = await built.login()
  const refresh = async (token: string | undefined): Promise<{ statusCode: number, body: Record<string, unknown> }> => {
    const res = await built.app.inject({ method: 'POST', url: '/token', payload: `grant_type=refresh_token&refresh_token=${token ?? ''}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const rotated = await refresh(first.refresh_token)
  t.equal(rotated.statusCode, 200)
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${String(rotated.body.access_token)}`)
  const reuse = await refresh(first.refresh_token)
  t.equal(reuse.statusCode, 400)
  t.equal(reuse.body.error, 'invalid_grant')
  const newer = await refresh(String(rotated.body.refresh_token))
  t.equal(newer.statusCode, 400, 'the newer refresh token is dead too')
  t.equal(newer.body.error, 'invalid_grant')
  const me = await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${String(rotated.body.access_token)}` } })
  t.equal(me.statusCode, 401, 'access tokens of the session are refused')
  t.match(me.headers['www-authenticate'], /Session revoked/)
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' }, 'its live socket is closed')
})

t.test('refresh grant failures are 400 invalid_grant', async (t) => {
  const tokens = await built.login()
  const post = async (payload: Record<string, string>): Promise<{ statusCode: number, error: unknown }> => {
    const res = await built.app.inject({ method: 'POST', url: '/token', payload })
    return { statusCode: res.statusCode, error: res.json<{ error: unknown }>().error }
  }
  t.same(await post({ grant_type: 'refresh_token' }), { statusCode: 400, error: 'invalid_request' }, 'missing refresh_token')
  t.same(await post({ grant_type: 'refresh_token', refresh_token: 'never-issued' }), { statusCode: 400, error: 'invalid_grant' }, 'unknown')
  // Only this session's refresh tokens: other tests' sessions live in the same database.
  const sid = String(decodeJwtPart(tokens.access_token, 1).sid)
  await built.app.db.updateTable('refresh_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('session_id', '=', sid).execute()
  t.same(await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }), { statusCode: 400, error: 'invalid_grant' }, 'expired')
  await addUser(built, 'refresh-disabled')
  const before = await built.login('refresh-disabled', 'its-password')
  const other = await built.login('refresh-disabled', 'its-password')
  t.equal((await post({ grant_type: 'refresh_token', refresh_token: before.refresh_token ?? '' })).statusCode, 200, 'the user\'s refresh works before')
  await built.app.users.setDisabled('refresh-disabled', true)
  t.same(await post({ grant_type: 'refresh_token', refresh_token: other.refresh_token ?? '' }), { statusCode: 400, error: 'invalid_grant' }, 'disabled user')
})

t.test('revoking a refresh token closes that session\'s sockets, and only those', async (t) => {
  const mine = await built.login()
  const other = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${mine.access_token}`)
  const bystander = await TestSocket.connect(`${built.wsUrl}/ws?token=${other.access_token}`)
  const res = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: mine.refresh_token, token_type_hint: 'refresh_token' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: mine.refresh_token } })
  t.equal(refresh.statusCode, 400, 'refresh refused after revocation')
  const retry = await TestSocket.open(`${built.wsUrl}/ws?token=${mine.access_token}`)
  t.same(await closedWithin(retry), { code: 1008, reason: 'Session revoked' }, 'a new socket with the old access token is refused')
  bystander.send({ type: 'still-here' })
  t.match(await bystander.next(), { type: 'still-here' }, 'the other session is untouched')
  bystander.close()
})

t.test('revoking an access token ends its session; unknown tokens still get 200', async (t) => {
  const tokens = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${tokens.access_token}`)
  const res = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: tokens.access_token } })
  t.equal(res.statusCode, 200)
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
  t.equal(refresh.statusCode, 400, 'its refresh token is dead too')
  const unknown = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: 'whatever' } })
  t.equal(unknown.statusCode, 200)
  t.same(unknown.json(), {})
  const missing = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: {} })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json<{ error: string }>().error, 'invalid_request')
})

t.test('disabling a user closes every socket of that user', async (t) => {
  await addUser(built, 'socket-disabled')
  const a = await built.login('socket-disabled', 'its-password')
  const b = await built.login('socket-disabled', 'its-password')
  const first = await TestSocket.connect(`${built.wsUrl}/ws?token=${a.access_token}`)
  const second = await TestSocket.connect(`${built.wsUrl}/ws?token=${b.access_token}`)
  await built.app.users.setDisabled('socket-disabled', true)
  await built.app.sessions.revokeUser('socket-disabled', 'disabled')
  t.same(await closedWithin(first), { code: 1008, reason: 'Session revoked' })
  t.same(await closedWithin(second), { code: 1008, reason: 'Session revoked' })
  const again = await TestSocket.open(`${built.wsUrl}/ws?token=${a.access_token}`)
  t.same(await closedWithin(again), { code: 1008, reason: 'Invalid token' }, 'a disabled user cannot reconnect')
})

t.test('token claims: iat and lifetime, on REST and /ws', async (t) => { claimsSuite(t, built) })

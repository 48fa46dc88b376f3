import t, { type Test } from 'tap'
import { build, type Built } from '../helper.js'
import { base64url, decodeJwtPart, forgeToken, nowSeconds } from './forge.js'

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
  const now = nowSeconds()
  const reply = await meWith(built, forgeToken(claims({ iat: now - 1800, exp: now - 2 })))
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

t.test('a disabled user\'s still-valid token stops working at once', async (t) => {
  const b = await build(t)
  const { access_token: token } = await b.login()
  t.equal((await meWith(b, token)).status, 200, 'works before')
  t.ok(await b.app.users.setDisabled('user', true))
  assertRefused(t, await meWith(b, token), 'disabled user', 'Invalid token')
  assertRefused(t, await meWith(b, forgeToken(claims())), 'disabled user, forged token', 'Invalid token')
  t.ok(await b.app.users.setDisabled('user', false))
  t.equal((await meWith(b, token)).status, 200, 'works again once re-enabled')
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

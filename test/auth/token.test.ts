import t, { type Test } from 'tap'
import { backoffMs } from '../../src/auth/backoff.js'
import { ManualClock } from '../clock.js'
import { build, type Built } from '../helper.js'
import { decodeJwtPart, nowSeconds } from './forge.js'
import { throttleModelSuite } from './throttle-model.js'

// POST /token: the password grant, its errors, and its two throttles (per IP
// and per username). Most tests share one app; a test builds its own only when
// it needs another configuration.

/** What every assertion here needs from an inject or a fetch response. */
interface Reply {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  text: string
}

type Json = Record<string, unknown>

const FORM = 'application/x-www-form-urlencoded'
// Rate limiting is not what these tests are about: keep it out of the way if it is on.
const ENV = { TOKEN_RATE_LIMIT: '100000' }

async function post (built: Built, payload: string | object, contentType?: string): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (contentType !== undefined) headers['content-type'] = contentType
  const res = await built.app.inject({ method: 'POST', url: '/token', payload, headers })
  return { status: res.statusCode, headers: res.headers, text: res.body }
}

async function postForm (built: Built, form: string): Promise<Reply> {
  return await post(built, form, FORM)
}

async function postJson (built: Built, body: unknown): Promise<Reply> {
  return await post(built, JSON.stringify(body), 'application/json')
}

function json (reply: Reply): Json {
  const value: unknown = JSON.parse(reply.text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a JSON object: ${reply.text}`)
  return value as Json
}

/** RFC 6749 §5.2 body plus `detail` with the same text. */
function assertError (t: Test, reply: Reply, status: number, error: string, what: string): Json {
  t.equal(reply.status, status, `${what}: status`)
  const body = json(reply)
  t.equal(body.error, error, `${what}: error`)
  t.type(body.error_description, 'string', `${what}: error_description`)
  t.equal(body.error_description, body.detail, `${what}: detail repeats error_description`)
  return body
}

function assertTokenResponse (t: Test, reply: Reply, expiresIn = 1800): string {
  t.equal(reply.status, 200, 'status 200')
  const body = json(reply)
  t.type(body.access_token, 'string')
  t.equal(body.token_type, 'bearer')
  t.equal(body.expires_in, expiresIn)
  t.equal(reply.headers['cache-control'], 'no-store')
  t.equal(reply.headers.pragma, 'no-cache')
  return typeof body.access_token === 'string' ? body.access_token : ''
}

const built = await build(t, ENV)

t.test('form body without grant_type issues an HS256 token with the documented claims', async (t) => {
  const before = nowSeconds()
  const token = assertTokenResponse(t, await postForm(built, 'username=user&password=password'))
  const after = nowSeconds()
  t.equal(token.split('.').length, 3, 'a JWS compact token')

  const header = decodeJwtPart(token, 0)
  t.equal(header.alg, 'HS256')

  const claims = decodeJwtPart(token, 1)
  t.equal(claims.sub, 'user')
  t.type(claims.iat, 'number')
  const iat = typeof claims.iat === 'number' ? claims.iat : NaN
  t.ok(iat >= before && iat <= after, `iat ${iat} is now`)
  t.equal(claims.exp, iat + 1800, 'exp = iat + 30 min')
  t.type(claims.jti, 'string')
  t.not(claims.jti, '')
  t.type(claims.sid, 'string')
  t.not(claims.sid, '')
  t.ok(Array.isArray(claims.roles), 'roles is an array')
  t.same(claims.roles, [])

  const me = await built.app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(me.statusCode, 200, 'the issued token works on /me')
})

t.test('JSON body and an explicit grant_type=password work too', async (t) => {
  assertTokenResponse(t, await postJson(built, { username: 'user', password: 'password' }))
  assertTokenResponse(t, await postJson(built, { grant_type: 'password', username: 'user', password: 'password' }))
  assertTokenResponse(t, await postForm(built, 'grant_type=password&username=user&password=password'))
})

t.test('two logins get different jti and sid', async (t) => {
  const a = decodeJwtPart(assertTokenResponse(t, await postForm(built, 'username=user&password=password')), 1)
  const b = decodeJwtPart(assertTokenResponse(t, await postForm(built, 'username=user&password=password')), 1)
  t.not(a.jti, b.jti)
  t.not(a.sid, b.sid)
})

t.test('the curl path: a real form-encoded POST over HTTP', async (t) => {
  const ok = await fetch(`${built.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'user', password: 'password' }) })
  const okReply: Reply = { status: ok.status, headers: Object.fromEntries(ok.headers), text: await ok.text() }
  const token = assertTokenResponse(t, okReply)
  t.equal(decodeJwtPart(token, 1).sub, 'user')

  const bad = await fetch(`${built.url}/token`, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: 'username=user&password=nope'
  })
  const badReply: Reply = { status: bad.status, headers: Object.fromEntries(bad.headers), text: await bad.text() }
  const body = assertError(t, badReply, 401, 'invalid_grant', 'wrong password over HTTP')
  t.equal(body.error_description, 'Incorrect username or password')
  t.equal(badReply.headers['www-authenticate'], 'Bearer')
})

t.test('GET /token is not a route', async (t) => {
  const res = await built.app.inject({ method: 'GET', url: '/token' })
  const reply: Reply = { status: res.statusCode, headers: res.headers, text: res.body }
  t.ok(reply.status === 404 || reply.status === 405, `status ${reply.status}`)
  const body = json(reply)
  t.type(body.error, 'string')
  t.equal(body.error_description, body.detail)
})

t.test('a text/plain body is invalid_request', async (t) => {
  assertError(t, await post(built, 'username=user&password=password', 'text/plain'), 400, 'invalid_request', 'text/plain')
})

t.test('malformed JSON is invalid_request', async (t) => {
  assertError(t, await post(built, '{"username": "user", ', 'application/json'), 400, 'invalid_request', 'truncated JSON')
  assertError(t, await post(built, '["user", "password"]', 'application/json'), 400, 'invalid_request', 'JSON array body')
})

t.test('missing or empty fields are invalid_request', async (t) => {
  const calls = built.app.passwords.calls
  const forms = ['password=password', 'username=user', 'username=&password=password', 'username=user&password=', '']
  for (const form of forms) {
    assertError(t, await postForm(built, form), 400, 'invalid_request', `form ${JSON.stringify(form)}`)
  }
  const bodies: object[] = [{ password: 'password' }, { username: 'user' }, { username: '', password: 'password' }, { username: 'user', password: '' }, {}]
  for (const body of bodies) {
    assertError(t, await postJson(built, body), 400, 'invalid_request', `JSON ${JSON.stringify(body)}`)
  }
  t.equal(built.app.passwords.calls, calls, 'no bcrypt work for a malformed request')
})

t.test('an unknown grant_type is unsupported_grant_type', async (t) => {
  assertError(t, await postForm(built, 'grant_type=client_credentials'), 400, 'unsupported_grant_type', 'form')
  assertError(t, await postForm(built, 'grant_type=client_credentials&username=user&password=password'), 400, 'unsupported_grant_type', 'form with credentials')
  assertError(t, await postJson(built, { grant_type: 'client_credentials', username: 'user', password: 'password' }), 400, 'unsupported_grant_type', 'JSON')
})

t.test('a field sent twice, or as an array or object, is a 400 and not a 500', async (t) => {
  const calls = built.app.passwords.calls
  assertError(t, await postForm(built, 'username=a&username=b&password=password'), 400, 'invalid_request', 'username twice')
  assertError(t, await postForm(built, 'username=user&password=password&password=x'), 400, 'invalid_request', 'password twice')
  assertError(t, await postForm(built, 'grant_type=password&grant_type=password&username=user&password=password'), 400, 'invalid_request', 'grant_type twice')
  assertError(t, await postJson(built, { username: ['user', 'b'], password: 'password' }), 400, 'invalid_request', 'JSON username array')
  assertError(t, await postJson(built, { username: 'user', password: ['password'] }), 400, 'invalid_request', 'JSON password array')
  assertError(t, await postJson(built, { username: { name: 'user' }, password: 'password' }), 400, 'invalid_request', 'JSON username object')
  assertError(t, await postJson(built, { username: 'user', password: { toString: 'password' } }), 400, 'invalid_request', 'JSON password object')
  assertError(t, await postJson(built, { username: 'user', password: 12345 }), 400, 'invalid_request', 'JSON password number')
  t.equal(built.app.passwords.calls, calls, 'none of them reached bcrypt')
})

t.test('unknown user and wrong password get the same 401 and both cost a bcrypt compare', async (t) => {
  const expected = { error: 'invalid_grant', error_description: 'Incorrect username or password', detail: 'Incorrect username or password' }

  let calls = built.app.passwords.calls
  const unknown = await postForm(built, 'username=nobody-here&password=password')
  assertError(t, unknown, 401, 'invalid_grant', 'unknown user')
  t.same(json(unknown), expected)
  t.equal(unknown.headers['www-authenticate'], 'Bearer')
  t.equal(built.app.passwords.calls, calls + 1, 'the unknown user cost one bcrypt compare')

  calls = built.app.passwords.calls
  const wrong = await postForm(built, 'username=user&password=wrong-password')
  assertError(t, wrong, 401, 'invalid_grant', 'wrong password')
  t.same(json(wrong), expected)
  t.equal(wrong.headers['www-authenticate'], 'Bearer')
  t.equal(built.app.passwords.calls, calls + 1, 'the wrong password cost one bcrypt compare')

  t.equal(unknown.text, wrong.text, 'byte-identical bodies')
})

t.test('a disabled user cannot log in, with the same 401', async (t) => {
  // A user of its own, so that the shared app's demo user stays enabled.
  await built.app.users.create({ username: 'soon-disabled', passwordHash: await built.app.passwords.hash('its-password') })
  assertTokenResponse(t, await postForm(built, 'username=soon-disabled&password=its-password'))
  t.ok(await built.app.users.setDisabled('soon-disabled', true))
  const res = await postForm(built, 'username=soon-disabled&password=its-password')
  const body = assertError(t, res, 401, 'invalid_grant', 'disabled user')
  t.equal(body.error_description, 'Incorrect username or password')
  t.equal(res.headers['www-authenticate'], 'Bearer')
})

t.test('a 1 MB password is refused before bcrypt', async (t) => {
  const calls = built.app.passwords.calls
  const huge = 'a'.repeat(1_000_000)
  assertError(t, await postForm(built, `username=user&password=${huge}`), 400, 'invalid_request', 'form')
  assertError(t, await postJson(built, { username: 'user', password: huge }), 400, 'invalid_request', 'JSON')
  t.equal(built.app.passwords.calls, calls, 'bcrypt was not called')
})

t.test('a password over 72 bytes is refused; 72 bytes still reaches bcrypt', async (t) => {
  let calls = built.app.passwords.calls
  assertError(t, await postForm(built, `username=user&password=${'a'.repeat(73)}`), 400, 'invalid_request', '73 ASCII bytes')
  // 25 × '€' is 75 bytes in only 25 UTF-16 units.
  assertError(t, await postJson(built, { username: 'user', password: '€'.repeat(25) }), 400, 'invalid_request', '75 UTF-8 bytes')
  t.equal(built.app.passwords.calls, calls, 'bcrypt was not called')

  calls = built.app.passwords.calls
  assertError(t, await postForm(built, `username=user&password=${'a'.repeat(72)}`), 401, 'invalid_grant', '72 bytes is a wrong password, not a malformed one')
  t.equal(built.app.passwords.calls, calls + 1)
})

t.test('prototype-ish usernames are just unknown users and the process keeps serving', async (t) => {
  for (const name of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
    const res = await postForm(built, `username=${name}&password=password`)
    const body = assertError(t, res, 401, 'invalid_grant', `username=${name}`)
    t.equal(body.error_description, 'Incorrect username or password')
  }
  assertError(t, await postJson(built, { username: '__proto__', password: 'password' }), 401, 'invalid_grant', 'JSON username __proto__')
  // A JSON __proto__ key is refused by the parser, never merged into the body.
  const poisoned = await post(built, '{"__proto__":{"username":"user","password":"password"}}', 'application/json')
  assertError(t, poisoned, 400, 'invalid_request', 'JSON __proto__ key')
  const shadowed = await postForm(built, '__proto__=x&username=user&password=password')
  t.ok(shadowed.status === 200 || shadowed.status === 400, `form __proto__ field: ${shadowed.status}`)
  assertTokenResponse(t, await postForm(built, 'username=user&password=password'))
})

t.test('a body over 1 MiB is 413', async (t) => {
  const calls = built.app.passwords.calls
  const big = 'a'.repeat(1024 * 1024 + 10)
  assertError(t, await postForm(built, `username=user&password=${big}`), 413, 'invalid_request', 'form')
  assertError(t, await postJson(built, { username: 'user', password: big }), 413, 'invalid_request', 'JSON')
  t.equal(built.app.passwords.calls, calls)
  assertTokenResponse(t, await postForm(built, 'username=user&password=password'))
})

t.test('ACCESS_TOKEN_EXPIRE_MINUTES sets expires_in and exp', async (t) => {
  const b = await build(t, { ...ENV, ACCESS_TOKEN_EXPIRE_MINUTES: '2' })
  const token = assertTokenResponse(t, await postForm(b, 'username=user&password=password'), 120)
  const claims = decodeJwtPart(token, 1)
  t.type(claims.iat, 'number')
  t.equal(claims.exp, Number(claims.iat) + 120)
})

interface Attempt { status: number, retryAfter: string | undefined, error: unknown }

/** A password grant from `ip` (the socket's address), optionally naming a client in X-Forwarded-For. */
async function attempt (b: Built, body: Record<string, string>, from: { ip: string, forwardedFor?: string }): Promise<Attempt> {
  const headers: Record<string, string> = from.forwardedFor === undefined ? {} : { 'x-forwarded-for': from.forwardedFor }
  const res = await b.app.inject({ method: 'POST', url: '/token', payload: body, headers, remoteAddress: from.ip })
  const retryAfter = res.headers['retry-after']
  return { status: res.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, error: res.json<{ error: unknown }>().error }
}

// The per-IP limits count in one-minute windows: each test below uses socket
// addresses or forwarded clients of its own, so the tests can share an app
// without sharing an allowance.
t.test('per-IP limit, TRUST_PROXY off', async (t) => {
  const limited = await build(t, { TOKEN_RATE_LIMIT: '10' })

  t.test('100 wrong passwords from one IP meet 429s after the limit, and bcrypt stays bounded', async (t) => {
    const callsBefore = limited.app.passwords.calls
    const statuses: number[] = []
    let lastRetryAfter: string | undefined
    for (let i = 0; i < 100; i++) {
      const res = await attempt(limited, { username: 'user', password: `guess-${i}` }, { ip: '192.0.2.1' })
      statuses.push(res.status)
      if (res.status === 429) lastRetryAfter = res.retryAfter
    }
    t.same(statuses.slice(0, 10), Array(10).fill(401), 'the first ten are answered')
    t.same(statuses.slice(10), Array(90).fill(429), 'the rest are throttled')
    t.ok(Number(lastRetryAfter) > 0, 'with a Retry-After in seconds')
    t.equal(limited.app.passwords.calls - callsBefore, 10, 'bcrypt ran only for the answered ten')
    const health = await limited.app.inject({ url: '/health', remoteAddress: '192.0.2.1' })
    t.equal(health.statusCode, 200, 'the process still serves')
  })

  t.test('a rotating X-Forwarded-For does not escape the limit while TRUST_PROXY is off', async (t) => {
    const statuses: number[] = []
    for (let i = 0; i < 13; i++) {
      statuses.push((await attempt(limited, { username: 'user', password: 'wrong' }, { ip: '192.0.2.2', forwardedFor: `203.0.113.${i}` })).status)
    }
    t.same(statuses, [...Array(10).fill(401), 429, 429, 429])
  })
})

t.test('TRUST_PROXY on, with a clock for the per-username backoff', async (t) => {
  const clock = new ManualClock()
  // LOGIN_USER_MAX_FAILURES: guesses from many addresses meet the username-wide threshold.
  const proxied = await build(t, { TOKEN_RATE_LIMIT: '2', TRUST_PROXY: 'true', LOGIN_FREE_FAILURES: '2', LOGIN_USER_MAX_FAILURES: '2' }, { clock })
  const PROXY = '192.0.2.10'

  t.test('with TRUST_PROXY on, each forwarded client has its own allowance', async (t) => {
    // An unknown username: its failures must not slow the demo user of the next test.
    const client = { ip: PROXY, forwardedFor: '203.0.113.1' }
    const a = [
      await attempt(proxied, { username: 'someone', password: 'x' }, client),
      await attempt(proxied, { username: 'someone', password: 'x' }, client),
      await attempt(proxied, { username: 'someone', password: 'x' }, client)
    ]
    t.same(a.map((r) => r.status), [401, 401, 429])
    t.equal((await attempt(proxied, { username: 'user', password: 'password' }, { ip: PROXY, forwardedFor: '203.0.113.2' })).status, 200, 'another client is unaffected')
  })

  t.test('a victim account slows down for the attacker, never locks', async (t) => {
    // A new forwarded client for each attempt: only the per-username backoff is at work.
    const from = (i: number): { ip: string, forwardedFor: string } => ({ ip: PROXY, forwardedFor: `198.51.100.${i}` })
    t.equal((await attempt(proxied, { username: 'user', password: 'w1' }, from(1))).status, 401)
    t.equal((await attempt(proxied, { username: 'user', password: 'w2' }, from(2))).status, 401)
    t.equal((await attempt(proxied, { username: 'user', password: 'w3' }, from(3))).status, 401, 'the third failure is answered, and starts the wait')
    const calls = proxied.app.passwords.calls
    const throttled = await attempt(proxied, { username: 'user', password: 'password' }, from(4))
    t.equal(throttled.status, 429, 'even the right password waits: the attacker cannot tell')
    t.equal(throttled.retryAfter, '1')
    t.equal(proxied.app.passwords.calls, calls, 'no bcrypt while throttled')
    const other = await attempt(proxied, { username: 'someone-else', password: 'x' }, from(5))
    t.equal(other.status, 401, 'other usernames are not slowed')
    clock.advance(999)
    t.equal((await attempt(proxied, { username: 'user', password: 'password' }, from(6))).status, 429, 'a millisecond before the second is up it still waits')
    clock.advance(1)
    t.equal((await attempt(proxied, { username: 'user', password: 'password' }, from(7))).status, 200, 'after the wait the owner gets in')
    t.equal((await attempt(proxied, { username: 'user', password: 'w4' }, from(8))).status, 401, 'and the next guess is answered')
    // One address's success does not wipe the username-wide count that guesses from many addresses built up.
    t.equal((await attempt(proxied, { username: 'user', password: 'w5' }, from(9))).status, 429, 'which waits again: the username-wide count was not reset')
  })
})

t.test('backoff doubles past the free failures, capped', async (t) => {
  const policy = { freeFailures: 3, maxBackoffMs: 10_000 }
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, policy)), [0, 0, 0, 1000, 2000, 4000, 8000, 10_000])
  t.equal(backoffMs(1000, policy), 10_000, 'huge counts stay at the cap')
})

t.test('the login throttle model, on its defaults', async (t) => { throttleModelSuite(t) })

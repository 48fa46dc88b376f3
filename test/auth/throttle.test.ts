import t from 'tap'
import { backoffMs } from '../../src/auth/login-throttle.js'
import { build } from '../helper.js'

interface Attempt { status: number, retryAfter: string | undefined, error: unknown }

function attempt (built: Awaited<ReturnType<typeof build>>, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Attempt> {
  return built.app.inject({ method: 'POST', url: '/token', payload: body, headers }).then((res) => ({
    status: res.statusCode,
    retryAfter: res.headers['retry-after'] as string | undefined,
    error: res.json<{ error: unknown }>().error
  }))
}

t.test('100 wrong passwords from one IP meet 429s after the limit, and bcrypt stays bounded', async (t) => {
  const built = await build(t, { TOKEN_RATE_LIMIT: '10' })
  const callsBefore = built.app.passwords.calls
  const statuses: number[] = []
  let lastRetryAfter: string | undefined
  for (let i = 0; i < 100; i++) {
    const res = await attempt(built, { username: 'user', password: `guess-${i}` })
    statuses.push(res.status)
    if (res.status === 429) lastRetryAfter = res.retryAfter
  }
  t.same(statuses.slice(0, 10), Array(10).fill(401), 'the first ten are answered')
  t.same(statuses.slice(10), Array(90).fill(429), 'the rest are throttled')
  t.ok(Number(lastRetryAfter) > 0, 'with a Retry-After in seconds')
  t.equal(built.app.passwords.calls - callsBefore, 10, 'bcrypt ran only for the answered ten')
  const health = await built.app.inject({ url: '/health' })
  t.equal(health.statusCode, 200, 'the process still serves')
})

t.test('a rotating X-Forwarded-For does not escape the limit while TRUST_PROXY is off', async (t) => {
  const built = await build(t, { TOKEN_RATE_LIMIT: '3' })
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) {
    statuses.push((await attempt(built, { username: 'user', password: 'wrong' }, { 'x-forwarded-for': `203.0.113.${i}` })).status)
  }
  t.same(statuses, [401, 401, 401, 429, 429, 429, 429, 429])
})

t.test('with TRUST_PROXY on, each forwarded client has its own allowance', async (t) => {
  const built = await build(t, { TOKEN_RATE_LIMIT: '2', TRUST_PROXY: 'true' })
  const a = [await attempt(built, { username: 'user', password: 'x' }, { 'x-forwarded-for': '203.0.113.1' }), await attempt(built, { username: 'user', password: 'x' }, { 'x-forwarded-for': '203.0.113.1' }), await attempt(built, { username: 'user', password: 'x' }, { 'x-forwarded-for': '203.0.113.1' })]
  t.same(a.map((r) => r.status), [401, 401, 429])
  t.equal((await attempt(built, { username: 'user', password: 'password' }, { 'x-forwarded-for': '203.0.113.2' })).status, 200, 'another client is unaffected')
})

t.test('a victim account slows down for the attacker, never locks', async (t) => {
  // Guesses from many addresses meet the username-wide threshold (LOGIN_FREE_FAILURES is per address).
  const built = await build(t, { LOGIN_USER_MAX_FAILURES: '2', TRUST_PROXY: 'true' })
  const from = (i: number): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${i}` })
  t.equal((await attempt(built, { username: 'user', password: 'w1' }, from(1))).status, 401)
  t.equal((await attempt(built, { username: 'user', password: 'w2' }, from(2))).status, 401)
  t.equal((await attempt(built, { username: 'user', password: 'w3' }, from(3))).status, 401, 'the third failure is answered, and starts the wait')
  const calls = built.app.passwords.calls
  const throttled = await attempt(built, { username: 'user', password: 'password' }, from(4))
  t.equal(throttled.status, 429, 'even the right password waits: the attacker cannot tell')
  t.equal(throttled.retryAfter, '1')
  t.equal(built.app.passwords.calls, calls, 'no bcrypt while throttled')
  const other = await attempt(built, { username: 'someone-else', password: 'x' }, from(4))
  t.equal(other.status, 401, 'other usernames are not slowed')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await attempt(built, { username: 'user', password: 'password' }, from(5))).status, 200, 'after the wait the owner gets in')
  t.equal((await attempt(built, { username: 'user', password: 'w4' }, from(6))).status, 401, 'and the next guess is answered')
})

t.test('backoff doubles past the free failures, capped', async (t) => {
  const policy = { freeFailures: 3, maxBackoffMs: 10_000 }
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, policy)), [0, 0, 0, 1000, 2000, 4000, 8000, 10_000])
  t.equal(backoffMs(1000, policy), 10_000, 'huge counts stay at the cap')
})

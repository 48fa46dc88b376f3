import type { Test } from 'tap'
import { ManualClock } from '../clock.js'
import { build, type Built } from '../helper.js'

// Empty values mean "use the default": they override test/helper.ts's generous limits.
const DEFAULTS = { TOKEN_RATE_LIMIT: '', LOGIN_IP_FAILURES_PER_MINUTE: '', LOGIN_FREE_FAILURES: '', LOGIN_USER_MAX_FAILURES: '', LOGIN_USER_WINDOW_MINUTES: '' }

interface Attempt { status: number, retryAfter: string | undefined, body: Record<string, unknown> }

async function attempt (built: Built, ip: string, password: string, username = 'user'): Promise<Attempt> {
  const res = await built.app.inject({ method: 'POST', url: '/token', remoteAddress: ip, payload: { username, password } })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, body: res.json<Record<string, unknown>>() }
}

async function statuses (built: Built, ip: string, passwords: readonly string[], username = 'user'): Promise<number[]> {
  const out: number[] = []
  for (const password of passwords) out.push((await attempt(built, ip, password, username)).status)
  return out
}

const wrong = (n: number, tag = 'w'): string[] => Array.from({ length: n }, (_, i) => `${tag}-${i}`)

/**
 * The login throttle's model, on its defaults (an empty value means "use the
 * default", overriding test/helper.ts's generous ones) and the injected clock:
 * per-IP failures, a high per-IP cap on all requests, per-(username, IP)
 * backoff, and a username-wide backoff past a much higher threshold.
 *
 * Run by token.test.ts; each test builds its own app and clock.
 */
export function throttleModelSuite (t: Test): void {
  t.test('an honest suite logging in 60 times a minute from one address is never throttled', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, DEFAULTS, { clock })
    const results = await statuses(built, '192.0.2.10', Array(60).fill('password'))
    t.same(results, Array(60).fill(200))
  })

  t.test('per IP, failed logins: the 11th in a minute gets 429 temporarily_unavailable, without bcrypt', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, DEFAULTS, { clock })
    // Ten different usernames, so that no per-username rule is what refuses.
    for (let i = 0; i < 10; i++) t.equal((await attempt(built, '192.0.2.20', 'nope', `guess-${i}`)).status, 401)
    const calls = built.app.passwords.calls
    const refused = await attempt(built, '192.0.2.20', 'password')
    t.equal(refused.status, 429, 'even the right password of another user')
    t.equal(built.app.passwords.calls, calls, 'bcrypt did not run')
    t.match(refused.body, { error: 'temporarily_unavailable', detail: /from this address/ })
    t.equal(refused.body.error_description, refused.body.detail)
    t.ok(Number(refused.retryAfter) > 0 && Number(refused.retryAfter) <= 60, `Retry-After ${String(refused.retryAfter)}`)
    t.equal((await attempt(built, '192.0.2.21', 'password')).status, 200, 'another address is not affected')
    clock.advance(60_000)
    t.equal((await attempt(built, '192.0.2.20', 'password')).status, 200, 'a minute later the address may log in')
  })

  t.test('a dozen wrong guesses from one address never lock the owner out from another', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, DEFAULTS, { clock })
    const attacker = await statuses(built, '198.51.100.66', wrong(12))
    t.same(attacker.slice(0, 5), Array(5).fill(401), 'the free failures are answered')
    t.ok(attacker.slice(6).every((s) => s === 429), `then the attacker waits: ${attacker.join(',')}`)
    t.equal((await attempt(built, '192.0.2.30', 'password')).status, 200, 'the owner, elsewhere, logs in at once')
  })

  t.test('per (username, IP): the attacker\'s address backs off, doubling; a success resets that address only', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, DEFAULTS, { clock })
    const [a, b] = ['203.0.113.1', '203.0.113.2']
    t.same(await statuses(built, a, wrong(6, 'a')), Array(6).fill(401), 'A: 5 free failures and a 6th that starts a 1 s wait')
    t.same(await statuses(built, b, wrong(6, 'b')), Array(6).fill(401), 'B: the same')
    const waiting = await attempt(built, a, 'password')
    t.equal(waiting.status, 429, 'A waits, right password or not')
    t.equal(waiting.retryAfter, '1')
    t.match(waiting.body, { detail: /for this user from this address/ })
    clock.advance(1000)
    t.equal((await attempt(built, a, 'password')).status, 200, 'after the wait the right password works')
    t.same(await statuses(built, a, ['a-again-1', 'a-again-2']), [401, 401], 'and A starts from zero')
    t.equal((await attempt(built, b, 'b-7')).status, 401, 'B was not reset: its 7th failure')
    const b8 = await attempt(built, b, 'password')
    t.equal(b8.status, 429)
    t.equal(b8.retryAfter, '2', 'doubles to 2 s')
  })

  t.test('per username from many addresses: 50 failures in 15 minutes, then a username-wide backoff', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, DEFAULTS, { clock })
    const from = (i: number): string => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`
    const spread: number[] = []
    for (let i = 0; i < 50; i++) spread.push((await attempt(built, from(i), `spread-${i}`)).status)
    t.same(spread, Array(50).fill(401), '50 wrong guesses from 50 addresses are all answered')
    t.equal((await attempt(built, '192.0.2.50', 'password')).status, 200, 'at 50 the owner still gets in from anywhere')
    t.equal((await attempt(built, from(50), 'spread-50')).status, 401, 'the 51st failure is answered, and starts the wait')
    const owner = await attempt(built, '192.0.2.51', 'password')
    t.equal(owner.status, 429, 'now every address waits: the documented trade-off')
    t.equal(owner.retryAfter, '1')
    t.match(owner.body, { detail: 'Too many failed logins for this user; try again later' })
    t.equal((await attempt(built, '192.0.2.51', 'x', 'someone-else')).status, 401, 'other usernames are not slowed')
    clock.advance(1000)
    t.equal((await attempt(built, '192.0.2.51', 'password')).status, 200, 'after the wait the owner gets in')
    t.equal((await attempt(built, from(51), 'spread-51')).status, 401, 'that success cleared no other address\'s failures')
    t.equal((await attempt(built, '192.0.2.51', 'password')).retryAfter, '2', 'so the next wait doubles')
    clock.advance(15 * 60_000)
    t.equal((await attempt(built, '192.0.2.51', 'password')).status, 200, 'the count runs out with its window')
  })

  t.test('a high per-IP cap on every token request protects bcrypt; it runs on the injected clock', async (t) => {
    const clock = new ManualClock()
    const built = await build(t, { ...DEFAULTS, TOKEN_RATE_LIMIT: '5' }, { clock })
    t.same(await statuses(built, '192.0.2.60', Array(5).fill('password')), Array(5).fill(200))
    const calls = built.app.passwords.calls
    const capped = await attempt(built, '192.0.2.60', 'password')
    t.equal(capped.status, 429)
    t.match(capped.body, { error: 'temporarily_unavailable', detail: /token requests from this address/ })
    t.equal(built.app.passwords.calls, calls, 'refused before bcrypt')
    const revoke = await built.app.inject({ method: 'POST', url: '/token/revoke', remoteAddress: '192.0.2.60', payload: { token: 'x' } })
    t.equal(revoke.statusCode, 429, '/token/revoke counts too')
    clock.advance(60_000)
    t.equal((await attempt(built, '192.0.2.60', 'password')).status, 200)
  })

  t.test('guesses sent in parallel cannot all slip past the per-IP failure limit', async (t) => {
    const built = await build(t, DEFAULTS, { clock: new ManualClock() })
    const calls = built.app.passwords.calls
    const results = await Promise.all(wrong(30, 'p').map(async (password, i) => (await attempt(built, '192.0.2.70', password, `parallel-${i}`)).status))
    t.equal(results.filter((s) => s === 401).length, 10, 'ten answered')
    t.equal(results.filter((s) => s === 429).length, 20, 'the rest refused')
    t.equal(built.app.passwords.calls - calls, 10, 'bcrypt ran ten times')
  })
}

import t from 'tap'
import { backoffMs, MemoryBackoff, type BackoffPolicy } from '../../src/auth/backoff.js'
import { RedisBackoff } from '../../src/auth/backoff-redis.js'
import { ManualClock } from '../clock.js'
import { redisPrefix } from '../services.js'
import { captureLog, deadRedisClient, redisClient } from './fixtures.js'
import type { Test } from 'tap'

const policy: BackoffPolicy = { freeFailures: 2, maxBackoffMs: 8000 }

/** Two instances' backoffs: separate connections, one prefix and scope, one clock. */
async function pair (t: Test, clock: ManualClock, options: { policy?: BackoffPolicy, scope?: string, prefix?: string } = {}): Promise<[RedisBackoff, RedisBackoff, string]> {
  const prefix = options.prefix ?? redisPrefix()
  const make = async (): Promise<RedisBackoff> => new RedisBackoff({
    redis: await redisClient(t), prefix, scope: options.scope ?? 'admin-auth', policy: options.policy ?? policy, log: captureLog(), now: () => clock.now()
  })
  return [await make(), await make(), prefix]
}

t.test('two instances share one backoff: free failures, doubling wait, capped, success resets', async (t) => {
  const clock = new ManualClock()
  const [a, b] = await pair(t, clock)
  await a.recordFailure('user:alice')
  await b.recordFailure('user:alice')
  t.equal(await a.retryAfterMs('user:alice'), 0, 'two free failures, one on each instance')
  await b.recordFailure('user:alice')
  t.equal(await a.retryAfterMs('user:alice'), 1000, 'the third, on b, makes a wait on a')
  clock.advance(400)
  t.equal(await b.retryAfterMs('user:alice'), 600, 'the wait runs on the injected clock')
  clock.advance(600)
  t.equal(await b.retryAfterMs('user:alice'), 0, 'and ends')
  for (const expected of [2000, 4000, 8000, 8000]) {
    await a.recordFailure('user:alice')
    t.equal(await b.retryAfterMs('user:alice'), expected, `doubles, capped: ${expected}`)
  }
  t.equal(await a.retryAfterMs('user:bob'), 0, 'keys are independent')
  await b.recordSuccess('user:alice')
  t.equal(await a.retryAfterMs('user:alice'), 0, 'a success on one instance resets the key for all')
})

t.test('parallel failures on two instances are all counted', async (t) => {
  const clock = new ManualClock()
  const [a, b, prefix] = await pair(t, clock, { policy: { freeFailures: 2, maxBackoffMs: 1_000_000_000 } })
  await Promise.all(Array.from({ length: 20 }, async (_, i) => { await (i % 2 === 0 ? a : b).recordFailure('ip:203.0.113.9') }))
  const redis = await redisClient(t)
  const key = `${prefix}backoff:admin-auth:ip:203.0.113.9`
  t.equal(await redis.hget(key, 'failures'), '20', 'twenty failures, none lost')
  const wait = backoffMs(20, { freeFailures: 2, maxBackoffMs: 1_000_000_000 })
  t.equal(await a.retryAfterMs('ip:203.0.113.9'), wait, 'the wait of the 20th failure')
  const ttl = await redis.pttl(key)
  t.ok(wait > 24 * 3600_000 && ttl > wait - 5000 && ttl <= wait, `a wait longer than 24 h keeps the key that long (${ttl} ms)`)
  await a.recordFailure('ip:other')
  const shortTtl = await redis.pttl(`${prefix}backoff:admin-auth:ip:other`)
  t.ok(shortTtl > 24 * 3600_000 - 5000 && shortTtl <= 24 * 3600_000, `otherwise it expires 24 h after its last failure (${shortTtl} ms)`)
})

t.test('claim lets exactly the free failures plus one through, however many race on two instances', async (t) => {
  const clock = new ManualClock()
  const [a, b] = await pair(t, clock, { policy: { freeFailures: 3, maxBackoffMs: 60_000 } })
  const keys = ['user:admin', 'ip:198.51.100.7']
  const waits = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a : b).claim(keys)))
  t.equal(waits.filter((w) => w === 0).length, 4, 'three free attempts and the one that starts the wait')
  t.ok(waits.filter((w) => w > 0).every((w) => w === 1000), 'the rest are told to wait 1 s')
  clock.advance(1000)
  t.equal(await b.claim(keys), 0, 'after the wait one more attempt may run')
  t.equal(await a.claim(keys), 2000, 'and it counted: the next wait doubles')
  await a.recordSuccess('user:admin')
  t.equal(await b.claim(['user:admin']), 0, 'a success clears its key')
  t.equal(await b.claim(keys), 2000, 'but not the other one: one waiting key refuses the claim')
})

t.test('scopes and prefixes do not share counts', async (t) => {
  const clock = new ManualClock()
  const [admin] = await pair(t, clock, { policy: { freeFailures: 0, maxBackoffMs: 8000 } })
  const prefix = redisPrefix()
  const [scoped] = await pair(t, clock, { prefix, scope: 'admin-auth', policy: { freeFailures: 0, maxBackoffMs: 8000 } })
  const [other] = await pair(t, clock, { prefix, scope: 'other', policy: { freeFailures: 0, maxBackoffMs: 8000 } })
  await admin.recordFailure('k')
  t.equal(await admin.retryAfterMs('k'), 1000, 'counted')
  t.equal(await scoped.retryAfterMs('k'), 0, 'another prefix does not see it')
  await scoped.recordFailure('k')
  t.equal(await other.retryAfterMs('k'), 0, 'another scope does not see it')
})

t.test('agrees with MemoryBackoff on a long random sequence', async (t) => {
  const clock = new ManualClock()
  const [a, b] = await pair(t, clock)
  const memory = new MemoryBackoff(policy, () => clock.now())
  let seed = 7
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  const mismatches: string[] = []
  for (let step = 0; step < 300; step++) {
    const key = `k${random(3)}`
    const redis = random(2) === 0 ? a : b
    const op = random(10)
    if (op < 5) await Promise.all([redis.recordFailure(key), memory.recordFailure(key)])
    else if (op < 6) await Promise.all([redis.recordSuccess(key), memory.recordSuccess(key)])
    else clock.advance(random(3000))
    const [got, want] = [await redis.retryAfterMs(key), await memory.retryAfterMs(key)]
    if (got !== want) mismatches.push(`step ${step} ${key}: redis ${got}, memory ${want}`)
  }
  t.same(mismatches, [], 'same wait after every step')
})

t.test('with Redis unreachable it counts in process instead of failing', async (t) => {
  const log = captureLog()
  const backoff = new RedisBackoff({ redis: await deadRedisClient(t), prefix: redisPrefix(), scope: 'admin-auth', policy, log })
  for (let i = 0; i < 3; i++) await backoff.recordFailure('user:x')
  t.ok(await backoff.retryAfterMs('user:x') > 0, 'the local count applies the policy')
  t.ok(await backoff.claim(['user:x']) > 0, 'claim too')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'logged once, not per call')
})

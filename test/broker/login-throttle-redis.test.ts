import fc from 'fast-check'
import t, { type Test } from 'tap'
import { MemoryLoginThrottle, type ThrottlePolicy } from '../../src/auth/login-throttle.js'
import { RedisLoginThrottle } from '../../src/auth/login-throttle-redis.js'
import { ManualClock } from '../clock.js'
import { redisPrefix } from '../services.js'
import { captureLog, deadRedisClient, redisClient } from './fixtures.js'

const policy: ThrottlePolicy = {
  requestsPerIpPerMinute: 6,
  ipFailuresPerMinute: 4,
  pair: { freeFailures: 2, maxBackoffMs: 8000 },
  userMaxFailures: 5,
  userWindowMs: 5 * 60_000
}

/** Two instances' throttles: separate connections, one prefix, one clock. */
async function twoInstances (t: Test, clock: ManualClock, prefix = redisPrefix(), p = policy): Promise<[RedisLoginThrottle, RedisLoginThrottle]> {
  const make = async (): Promise<RedisLoginThrottle> =>
    new RedisLoginThrottle({ redis: await redisClient(t), prefix, policy: p, log: captureLog(), now: () => clock.now() })
  return [await make(), await make()]
}

type Op =
  | { op: 'admit', ip: string, on: number }
  | { op: 'begin' | 'fail' | 'success', user: string, ip: string, on: number }
  | { op: 'advance', ms: number }

const ip = fc.constantFrom('192.0.2.1', '192.0.2.2', '2001:db8::3')
const user = fc.constantFrom('alice', 'bob')
const on = fc.integer({ min: 0, max: 1 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('admit' as const), ip, on }),
  fc.record({ op: fc.constantFrom('begin' as const, 'fail' as const, 'success' as const), user, ip, on }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(100, 1000, 2500, 30_000, 61_000, 5 * 60_000) })
)

t.test('two Redis instances together behave exactly like one MemoryLoginThrottle', async (t) => {
  const redis = await redisClient(t)
  let runs = 0
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60 }), async (ops) => {
    runs++
    const clock = new ManualClock()
    const prefix = redisPrefix()
    const instances = await Promise.all([0, 1].map(() => new RedisLoginThrottle({ redis, prefix, policy, log: captureLog(), now: () => clock.now() })))
    const memory = new MemoryLoginThrottle(policy, () => clock.now())
    for (const [i, step] of ops.entries()) {
      if (step.op === 'advance') {
        clock.advance(step.ms)
        continue
      }
      const shared = instances[step.on]
      if (shared === undefined) throw new Error('no instance')
      let got: unknown, want: unknown
      if (step.op === 'admit') [got, want] = [await shared.admitRequest(step.ip), await memory.admitRequest(step.ip)]
      else if (step.op === 'begin') [got, want] = [await shared.beginLogin(step.user, step.ip), await memory.beginLogin(step.user, step.ip)]
      else if (step.op === 'fail') await Promise.all([shared.recordFailure(step.user, step.ip), memory.recordFailure(step.user, step.ip)])
      else await Promise.all([shared.recordSuccess(step.user, step.ip), memory.recordSuccess(step.user, step.ip)])
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`step ${i} ${JSON.stringify(step)}: redis ${JSON.stringify(got)}, memory ${JSON.stringify(want)}`)
    }
  }), { numRuns: 40 })
  t.equal(runs >= 40, true, 'every generated sequence agreed')
})

t.test('the documented scenarios, across two instances', async (t) => {
  const clock = new ManualClock()
  const [a, b] = await twoInstances(t, clock)
  t.equal(await a.beginLogin('alice', '192.0.2.9'), undefined, 'admitted')
  await a.recordFailure('alice', '192.0.2.9')
  t.equal(await b.beginLogin('alice', '192.0.2.9'), undefined, 'a second free failure, on b')
  await b.recordFailure('alice', '192.0.2.9')
  t.equal(await a.beginLogin('alice', '192.0.2.9'), undefined, 'the third attempt is let through')
  await a.recordFailure('alice', '192.0.2.9')
  t.same(await b.beginLogin('alice', '192.0.2.9'), { scope: 'user-ip', retryAfterMs: 1000 }, 'b sees the pair\'s wait a set')
  t.equal(await b.beginLogin('alice', '192.0.2.10'), undefined, 'another address is not slowed')
  await b.recordSuccess('alice', '192.0.2.10')
  t.equal(await b.beginLogin('bob', '192.0.2.9'), undefined, 'bob from that address: its 4th attempt, counted as a failure until it succeeds')
  t.same(await a.beginLogin('carol', '192.0.2.9'), { scope: 'ip-failures', retryAfterMs: 60_000 }, 'the IP\'s failure limit, for every user')
  clock.advance(60_000)
  t.equal(await a.beginLogin('alice', '192.0.2.9'), undefined, 'a minute later, the windows and the wait are over')
  await a.recordSuccess('alice', '192.0.2.9')
  t.equal(await b.beginLogin('alice', '192.0.2.9'), undefined, 'the success reset the pair')
})

t.test('parallel guesses on two instances cannot slip past the per-IP failure limit', async (t) => {
  const [a, b] = await twoInstances(t, new ManualClock())
  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => await (i % 2 === 0 ? a : b).beginLogin(`guess-${i}`, '198.51.100.1')))
  t.equal(results.filter((r) => r === undefined).length, 4, 'exactly the limit admitted')
  t.ok(results.every((r) => r === undefined || r.scope === 'ip-failures'), 'the rest refused for the IP\'s failures')
})

t.test('parallel requests and failures are all counted', async (t) => {
  const prefix = redisPrefix()
  const [a, b] = await twoInstances(t, new ManualClock(), prefix)
  const admitted = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a : b).admitRequest('203.0.113.5')))
  t.equal(admitted.filter((r) => r === undefined).length, 6, 'the per-IP request cap holds across instances')
  await Promise.all(Array.from({ length: 20 }, async (_, i) => { await (i % 2 === 0 ? a : b).recordFailure('carol', `10.0.0.${i}`) }))
  const redis = await redisClient(t)
  t.equal(await redis.hget(`${prefix}login:user:carol`, 'count'), '20', 'twenty username-wide failures, none lost')
  const keys = await redis.keys(`${prefix}*`)
  t.ok(keys.length > 20, `keys were written (${keys.length})`)
  const ttls = await Promise.all(keys.map(async (key) => await redis.pttl(key)))
  t.ok(ttls.every((ttl) => ttl > 0), 'every key has an expiry')
})

t.test('with Redis unreachable it throttles in process instead of failing', async (t) => {
  const log = captureLog()
  const throttle = new RedisLoginThrottle({ redis: await deadRedisClient(t), prefix: redisPrefix(), policy, log })
  for (let i = 0; i < 4; i++) t.equal(await throttle.beginLogin(`u${i}`, '192.0.2.77'), undefined, `attempt ${i} admitted`)
  t.match(await throttle.beginLogin('u9', '192.0.2.77'), { scope: 'ip-failures' }, 'the local count applies the policy')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'logged once')
})

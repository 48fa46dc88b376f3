import t from 'tap'
import { MemoryConnectionCounts } from '../../src/broker/connection-counts.js'
import { RedisConnectionCounts, type RedisConnectionCountsOptions } from '../../src/broker/connection-counts-redis.js'
import { redisPrefix } from '../services.js'
import { captureLog, deadRedisClient, redisClient, until } from './fixtures.js'
import type { Test } from 'tap'

async function instance (t: Test, prefix: string, instanceId: string, options: Partial<RedisConnectionCountsOptions> = {}): Promise<RedisConnectionCounts> {
  const counts = new RedisConnectionCounts({ redis: await redisClient(t), prefix, instanceId, log: captureLog(), ...options })
  t.teardown(async () => { await counts.close() })
  return counts
}

t.test('memory: the limit holds, a release frees a place, acquiring twice is a no-op', async (t) => {
  const counts = new MemoryConnectionCounts()
  t.same(await Promise.all(['c1', 'c2', 'c3'].map(async (id) => await counts.acquire('alice', id, 2))), [true, true, false])
  t.ok(await counts.acquire('alice', 'c1', 2), 'a held place acquired again')
  t.ok(await counts.acquire('bob', 'c9', 2), 'users are independent')
  counts.release('alice', 'c2')
  t.ok(await counts.acquire('alice', 'c3', 2), 'a released place is free again')
})

t.test('20 parallel acquires on two instances with limit 5: exactly 5 succeed', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a : b).acquire('alice', `c${i}`, 5)))
  t.equal(results.filter(Boolean).length, 5, 'the limit holds across instances')
  const redis = await redisClient(t)
  t.equal(await redis.zcard(`${prefix}conns:alice`), 5, 'five places in Redis')
  const ttl = await redis.pttl(`${prefix}conns:alice`)
  t.ok(ttl > 0 && ttl <= 31_000, `the set expires a lease after its last refresh (${ttl} ms)`)
  const holder = results.findIndex(Boolean)
  await (holder % 2 === 0 ? a : b).release('alice', `c${holder}`)
  t.ok(await b.acquire('alice', 'late', 5), 'a release on one instance frees a place for the other')
  t.notOk(await a.acquire('alice', 'later', 5), 'and only one')
  t.ok(await a.acquire('bob', 'c0', 5), 'another user is not affected')
})

t.test('refreshes keep live places; a dead instance\'s places expire on their own', async (t) => {
  const prefix = redisPrefix()
  const lease = { leaseMs: 300, refreshMs: 50 }
  const crashingClient = await redisClient(t)
  const a = new RedisConnectionCounts({ redis: crashingClient, prefix, instanceId: 'a', log: captureLog(), ...lease })
  t.teardown(async () => { await a.close() })
  const b = await instance(t, prefix, 'b', lease)
  for (let i = 0; i < 3; i++) t.ok(await a.acquire('alice', `a${i}`, 3), `a holds place ${i}`)
  await until('several leases have passed with refreshes', () => a.refreshes >= 10)
  t.notOk(await b.acquire('alice', 'b0', 3), 'refreshed places are still counted after many lease lengths')
  crashingClient.disconnect() // a dies: its places are neither refreshed nor released
  await until('a\'s places expire', async () => await b.acquire('alice', 'b0', 3), 5000)
  t.ok(await b.acquire('alice', 'b1', 3) && await b.acquire('alice', 'b2', 3), 'all three of them')
})

t.test('close gives this instance\'s places back at once', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  for (let i = 0; i < 2; i++) await a.acquire('alice', `a${i}`, 2)
  t.notOk(await b.acquire('alice', 'b0', 2), 'full')
  await a.close()
  t.ok(await b.acquire('alice', 'b0', 2), 'free again without waiting for the lease')
})

t.test('a release while the acquire is still running gives the place back', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const acquiring = a.acquire('alice', 'c1', 1)
  await a.release('alice', 'c1')
  t.notOk(await acquiring, 'the acquire reports the place was not kept')
  t.ok(await a.acquire('alice', 'c2', 1), 'and the place is free')
})

t.test('with Redis unreachable, acquire counts this instance\'s connections only', async (t) => {
  const log = captureLog()
  const counts = new RedisConnectionCounts({ redis: await deadRedisClient(t), prefix: redisPrefix(), instanceId: 'a', log })
  t.teardown(async () => { await counts.close() })
  t.same([await counts.acquire('alice', 'c1', 2), await counts.acquire('alice', 'c2', 2), await counts.acquire('alice', 'c3', 2)], [true, true, false])
  await counts.release('alice', 'c1')
  t.ok(await counts.acquire('alice', 'c3', 2), 'a local release frees a local place')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'logged once')
})

import t, { type Test } from 'tap'
import type { Redis } from 'ioredis'
import { closeRedis, createRedis, whenReady } from '../../src/broker/redis-connection.js'
import type { PresenceEntry } from '../../src/channels/presence.js'
import { RedisPresence, type RedisPresenceOptions } from '../../src/channels/presence-redis.js'
import { captureLog, deadRedisClient, PrivateRedis, redisClient, until } from '../broker/fixtures.js'
import { redisPrefix } from '../services.js'

async function instance (t: Test, prefix: string, instanceId: string, options: Partial<RedisPresenceOptions> = {}): Promise<RedisPresence> {
  const presence = new RedisPresence({ redis: await redisClient(t), prefix, instanceId, log: captureLog(), ...options })
  t.teardown(async () => { await presence.close() })
  return presence
}

/** A client that reconnects within 200 ms, for a private Redis that is stopped and started again. */
async function quickClient (t: Test, url: string): Promise<Redis> {
  const redis = createRedis({ url, name: 'wsgate-test-presence', log: captureLog(), reconnect: { initialMs: 20, maxMs: 200 } })
  t.teardown(async () => { await closeRedis(redis) })
  await whenReady(redis, url, 5000)
  return redis
}

/** Entries as sorted strings, so lists compare regardless of order. */
function names (entries: readonly PresenceEntry[]): string[] {
  return entries.map((entry) => `${entry.user}/${entry.connectionId}`).sort()
}

t.test('add, list and remove; two sockets of a user are two entries; the set expires and empties', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const redis = await redisClient(t)
  const key = `${prefix}presence:chat:room`
  await a.add('chat:room', { user: 'alice', connectionId: 'c1' })
  await a.add('chat:room', { user: 'alice', connectionId: 'c2' })
  await a.add('chat:room', { user: 'bob', connectionId: 'c3' })
  t.same(names(await a.list('chat:room')), ['alice/c1', 'alice/c2', 'bob/c3'])
  t.equal(await redis.zcard(key), 3, 'three entries in Redis, under the prefix')
  const ttl = await redis.pttl(key)
  t.ok(ttl > 0 && ttl <= 31_000, `the set expires a lease after its last write (${ttl} ms)`)
  await a.remove('chat:room', 'c1')
  await a.remove('chat:room', 'unknown')
  t.same(names(await a.list('chat:room')), ['alice/c2', 'bob/c3'])
  await a.remove('chat:room', 'c2')
  await a.remove('chat:room', 'c3')
  t.same(await a.list('chat:room'), [])
  t.equal(await redis.exists(key), 0, 'an empty channel leaves no key')
})

t.test('two instances on one prefix see each other\'s entries; channel names with : @ . stay apart', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  const channels = ['chat', 'chat:a', 'chat:a:b', 'chat:a.b', 'user:alice@example.com', 'chat:a@b']
  for (const [i, channel] of channels.entries()) {
    await a.add(channel, { user: 'alice', connectionId: `a${i}` })
    await b.add(channel, { user: 'bob', connectionId: `b${i}` })
  }
  for (const [i, channel] of channels.entries()) {
    const expected = [`alice/a${i}`, `bob/b${i}`]
    t.same(names(await a.list(channel)), expected, `${channel} as a sees it`)
    t.same(names(await b.list(channel)), expected, `${channel} as b sees it`)
  }
  await b.remove('chat:a', 'b1')
  t.same(names(await a.list('chat:a')), ['alice/a1'], 'a remove on one instance is seen by the other')
  await b.add('chat:a', { user: 'carol', connectionId: 'a1' })
  t.same(names(await a.list('chat:a')), ['alice/a1', 'carol/a1'], 'the same connection id on two instances is two entries')
})

t.test('prefixes are isolated', async (t) => {
  const a = await instance(t, redisPrefix(), 'a')
  const b = await instance(t, redisPrefix(), 'b')
  await a.add('chat', { user: 'alice', connectionId: 'c1' })
  await b.add('chat', { user: 'bob', connectionId: 'c2' })
  t.same(names(await a.list('chat')), ['alice/c1'])
  t.same(names(await b.list('chat')), ['bob/c2'])
})

t.test('adding a connection id again with another user replaces its entry everywhere', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  await a.add('chat', { user: 'alice', connectionId: 'c1' })
  await a.add('chat', { user: 'alice', connectionId: 'c1' })
  t.same(names(await b.list('chat')), ['alice/c1'], 'added twice, listed once')
  await a.add('chat', { user: 'bob', connectionId: 'c1' })
  t.same(names(await b.list('chat')), ['bob/c1'], 'replaced')
})

t.test('refreshes keep live entries; a killed instance\'s entries drop out within the lease', async (t) => {
  const prefix = redisPrefix()
  const lease = { leaseMs: 300, refreshMs: 50 }
  const killedClient = await redisClient(t)
  const a = new RedisPresence({ redis: killedClient, prefix, instanceId: 'a', log: captureLog(), ...lease })
  t.teardown(async () => { await a.close() })
  const b = await instance(t, prefix, 'b', lease)
  await a.add('chat', { user: 'alice', connectionId: 'a1' })
  await a.add('chat', { user: 'alice', connectionId: 'a2' })
  await a.add('lonely', { user: 'alice', connectionId: 'a3' })
  await b.add('chat', { user: 'bob', connectionId: 'b1' })
  await until('several leases have passed with refreshes', () => a.refreshes >= 10 && b.refreshes >= 10)
  t.same(names(await b.list('chat')), ['alice/a1', 'alice/a2', 'bob/b1'], 'refreshed entries are still listed after many lease lengths')
  killedClient.disconnect() // a dies: its entries are neither refreshed nor removed
  const killedAt = Date.now()
  await until('a\'s entries drop out of b\'s list', async () => names(await b.list('chat')).join() === 'bob/b1', 2000)
  t.ok(Date.now() - killedAt < 2000, 'within the lease (plus polling)')
  t.same(await b.list('lonely'), [], 'in every channel')
  const redis = await redisClient(t)
  await until('the dead instance\'s only channel leaves no key', async () => await redis.exists(`${prefix}presence:lonely`) === 0, 3000)
  t.pass('the key of a channel nobody refreshes expires')
})

t.test('close removes this instance\'s entries at once', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  await a.add('chat', { user: 'alice', connectionId: 'a1' })
  await a.add('news', { user: 'alice', connectionId: 'a1' })
  await b.add('chat', { user: 'bob', connectionId: 'b1' })
  await a.close()
  t.same(names(await b.list('chat')), ['bob/b1'], 'gone without waiting for the lease')
  t.same(await b.list('news'), [])
})

t.test('an entry in Redis that is not one of ours is dropped from the list and logged', async (t) => {
  const prefix = redisPrefix()
  const log = captureLog()
  const a = await instance(t, prefix, 'a', { log })
  const redis = await redisClient(t)
  await redis.zadd(`${prefix}presence:chat`, '+inf', 'not json', '+inf', '["x","only two"]')
  await a.add('chat', { user: 'alice', connectionId: 'a1' })
  t.same(names(await a.list('chat')), ['alice/a1'])
  t.equal(log.lines.filter((line) => line.msg.includes('malformed presence entry')).length, 2, 'each logged')
})

t.test('an instance lists its own entries from memory, so one whose remove missed Redis is not shown to it', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  await a.add('chat', { user: 'alice', connectionId: 'a1' })
  // What a ZREM lost in an outage leaves behind: a's entry in Redis that a no longer holds.
  await (await redisClient(t)).zadd(`${prefix}presence:chat`, '+inf', '["a","gone","alice"]')
  t.same(names(await a.list('chat')), ['alice/a1'], 'a knows its own sockets')
  t.same(names(await b.list('chat')), ['alice/a1', 'alice/gone'], 'b sees it until the lease runs out')
})

t.test('with Redis unreachable, add and remove do not throw and list answers with this instance\'s entries', async (t) => {
  const log = captureLog()
  const presence = new RedisPresence({ redis: await deadRedisClient(t), prefix: redisPrefix(), instanceId: 'a', log })
  t.teardown(async () => { await presence.close() })
  await presence.add('chat', { user: 'alice', connectionId: 'c1' })
  await presence.add('chat', { user: 'bob', connectionId: 'c2' })
  await presence.remove('chat', 'c1')
  await presence.refresh()
  t.same(names(await presence.list('chat')), ['bob/c2'], 'the local entries')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'logged once')
  await presence.remove('chat', 'c2')
  await presence.refresh()
  t.notOk(log.has('Redis available again'), 'a refresh with nothing to write does not claim Redis is back')
})

t.test('Redis restarted: this instance\'s entries come back with the next refresh', async (t) => {
  const server = await PrivateRedis.start(t)
  const lease = { leaseMs: 3000, refreshMs: 100 }
  const logA = captureLog()
  const a = new RedisPresence({ redis: await quickClient(t, server.url), prefix: 'p:', instanceId: 'a', log: logA, ...lease })
  t.teardown(async () => { await a.close() })
  const b = new RedisPresence({ redis: await quickClient(t, server.url), prefix: 'p:', instanceId: 'b', log: captureLog(), ...lease })
  t.teardown(async () => { await b.close() })
  await a.add('chat', { user: 'alice', connectionId: 'a1' })
  await b.add('chat', { user: 'bob', connectionId: 'b1' })
  t.same(names(await b.list('chat')), ['alice/a1', 'bob/b1'], 'before the outage')

  await server.stop()
  await a.add('chat', { user: 'alice', connectionId: 'a2' })
  await a.remove('chat', 'a1')
  t.same(names(await a.list('chat')), ['alice/a2'], 'while Redis is down: this instance\'s entries only')
  t.ok(logA.has('Redis unavailable'), 'the outage is logged')

  await server.restart() // empty: nothing was saved
  // Each instance lists its own entries from memory, so each view shows the other's refresh.
  const both = async (): Promise<string> => [names(await a.list('chat')).join(), names(await b.list('chat')).join()].join(' | ')
  await until('both instances wrote their entries again', async () => await both() === 'alice/a2,bob/b1 | alice/a2,bob/b1')
  const redis = await quickClient(t, server.url)
  t.equal(await redis.zcard('p:presence:chat'), 2, 'both entries are in the restarted Redis')
  t.ok(logA.has('Redis available again'), 'the recovery is logged')
})

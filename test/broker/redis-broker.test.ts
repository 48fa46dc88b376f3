import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { BrokerEvent } from '../../src/broker/broker.js'
import { openBroker } from '../../src/broker/open.js'
import { RedisBroker } from '../../src/broker/redis.js'
import { REDIS_TEST_URL, redisPrefix } from '../services.js'
import { captureLog, freePort, until } from './fixtures.js'

interface Tapped {
  readonly broker: RedisBroker
  readonly seen: BrokerEvent[]
  readonly lags: number[]
  count (frame: string): number
}

async function tapped (t: Test, prefix: string, instanceId: string): Promise<Tapped> {
  const broker = await RedisBroker.connect({ url: REDIS_TEST_URL, prefix, instanceId, log: captureLog() })
  t.teardown(async () => { await broker.close() })
  const seen: BrokerEvent[] = []
  const lags: number[] = []
  broker.subscribe((event) => { seen.push(event) })
  broker.onRemoteDelivery((lag) => { lags.push(lag) })
  const count = (frame: string): number => seen.filter((e) => e.kind === 'broadcast' && e.frame === frame).length
  return { broker, seen, lags, count }
}

const say = (frame: string): BrokerEvent => ({ kind: 'broadcast', channel: 'global', frame })

async function rawClient (t: Test): Promise<Redis> {
  const redis = new Redis(REDIS_TEST_URL)
  t.teardown(() => { redis.disconnect() })
  return redis
}

t.test('each event reaches each instance exactly once, its origin included, with no echo', async (t) => {
  const prefix = redisPrefix()
  const a = await tapped(t, prefix, 'instance-a')
  const b = await tapped(t, prefix, 'instance-b')

  await a.broker.publish(say('from-a'))
  t.equal(a.count('from-a'), 1, 'the origin hears its own event synchronously, before Redis')
  await b.broker.publish(say('from-b'))
  await until('each hears the other', () => b.count('from-a') === 1 && a.count('from-b') === 1)

  // Pub/sub keeps order: a sentinel published after an event arrives after any echo of it would have.
  await b.broker.publish(say('flush-b'))
  await a.broker.publish(say('flush-a'))
  await until('sentinels crossed', () => a.count('flush-b') === 1 && b.count('flush-a') === 1)
  t.equal(a.count('from-a'), 1, 'no echo of its own event on the origin')
  t.equal(b.count('from-b'), 1, 'no echo on the other origin either')
  t.equal(b.count('from-a'), 1, 'delivered once to the other instance')
  t.equal(a.count('from-b'), 1, 'and the other way round')
  t.equal(a.seen.length, 4, 'a saw exactly its two and b\'s two')
  t.equal(b.seen.length, 4, 'b saw exactly its two and a\'s two')
  t.equal(a.lags.length, 2, 'remote-delivery lag reported for each remote event only')
  t.ok(a.lags.every((lag) => lag >= 0 && lag < 5000), 'lags are plausible milliseconds')
  t.equal(a.broker.publishErrors, 0, 'no publish errors')
  t.ok(a.broker.healthy, 'healthy while connected')
  t.equal(a.broker.channel, `${prefix}events`, 'the channel is under the prefix')
})

t.test('every event kind crosses intact', async (t) => {
  const prefix = redisPrefix()
  const a = await tapped(t, prefix, 'a')
  const b = await tapped(t, prefix, 'b')
  const events: BrokerEvent[] = [
    say('x'),
    { kind: 'revoke-session', sid: 's1' },
    { kind: 'revoke-user', username: 'alice' },
    { kind: 'instance-stats', instanceId: 'a', snapshot: { connections: 3, memory: { rss: 1 } } }
  ]
  for (const event of events) await a.broker.publish(event)
  await until('all arrive', () => b.seen.length === events.length)
  t.same(b.seen, events, 'same events, same order')
})

t.test('prefixes isolate deployments', async (t) => {
  const here = await tapped(t, redisPrefix(), 'a')
  const otherPrefix = redisPrefix()
  const there = await tapped(t, otherPrefix, 'b')
  await here.broker.publish(say('private'))
  const raw = await rawClient(t)
  await raw.publish(`${otherPrefix}events`, JSON.stringify({ origin: 'c', at: Date.now(), event: say('sentinel') }))
  await until('sentinel arrives on the other prefix', () => there.count('sentinel') === 1)
  t.equal(there.count('private'), 0, 'an event of one prefix never reaches another')
})

t.test('a malformed message is logged and dropped', async (t) => {
  const prefix = redisPrefix()
  const log = captureLog()
  const broker = await RedisBroker.connect({ url: REDIS_TEST_URL, prefix, instanceId: 'a', log })
  t.teardown(async () => { await broker.close() })
  const seen: BrokerEvent[] = []
  broker.subscribe((event) => { seen.push(event) })
  const raw = await rawClient(t)
  const channel = `${prefix}events`
  await raw.publish(channel, 'not json {')
  await raw.publish(channel, JSON.stringify({ origin: 'x', at: Date.now(), event: { kind: 'nope' } }))
  await raw.publish(channel, JSON.stringify({ origin: 'x', at: 'yesterday', event: say('bad-at') }))
  await raw.publish(channel, JSON.stringify({ origin: 'x', at: Date.now(), event: { kind: 'revoke-user', username: 42 } }))
  await raw.publish(channel, JSON.stringify({ origin: 'x', at: Date.now(), event: say('good') }))
  await until('the valid one arrives', () => seen.length === 1)
  t.same(seen, [say('good')], 'only the valid event reaches listeners')
  t.equal(broker.malformedMessages, 4, 'each malformed message counted')
  t.equal(log.lines.filter((line) => line.msg.includes('malformed')).length, 4, 'and logged')
  t.notOk(JSON.stringify(log.lines).includes('not json'), 'the content itself is not logged')
})

t.test('a throwing listener neither stops the others nor rejects publish', async (t) => {
  const log = captureLog()
  const broker = await RedisBroker.connect({ url: REDIS_TEST_URL, prefix: redisPrefix(), instanceId: 'a', log })
  t.teardown(async () => { await broker.close() })
  const seen: BrokerEvent[] = []
  broker.subscribe(() => { throw new Error('boom') })
  broker.subscribe((event) => { seen.push(event) })
  await broker.publish(say('x'))
  t.equal(seen.length, 1, 'the next listener still ran')
  t.ok(log.has('listener threw'), 'the throw was logged')
})

t.test('with Redis unreachable, publish resolves, delivers locally and counts an error', async (t) => {
  const log = captureLog()
  const port = await freePort()
  const broker = new RedisBroker({ url: `redis://127.0.0.1:${port}`, prefix: redisPrefix(), instanceId: 'a', log })
  t.teardown(async () => { await broker.close() })
  const seen: BrokerEvent[] = []
  broker.subscribe((event) => { seen.push(event) })
  t.notOk(broker.healthy, 'not healthy')
  const started = Date.now()
  await broker.publish(say('one'))
  await broker.publish(say('two'))
  t.ok(Date.now() - started < 1000, 'fails fast instead of queueing')
  t.same(seen, [say('one'), say('two')], 'local listeners still get every event')
  t.equal(broker.publishErrors, 2, 'each failed publish counted')
  t.equal(log.lines.filter((line) => line.msg.includes('did not reach')).length, 1, 'logged once for the outage, not per publish')
})

t.test('connect fails clearly, naming the redacted URL, when Redis is not reachable', async (t) => {
  const log = captureLog()
  const port = await freePort()
  const url = `redis://:hunter2secret@127.0.0.1:${port}`
  const error = await RedisBroker.connect({ url, prefix: redisPrefix(), instanceId: 'a', log }, 300).then(() => undefined, (err: unknown) => err)
  t.ok(error instanceof Error, 'rejects')
  const message = error instanceof Error ? error.message : ''
  t.match(message, `redis://***@127.0.0.1:${port}`, 'names the URL, redacted')
  t.match(message, /not reachable/, 'says what is wrong')
  t.notOk(message.includes('hunter2secret'), 'no password in the error')
  t.notOk(JSON.stringify(log.lines).includes('hunter2secret'), 'no password in the logs')
})

t.test('openBroker chooses Redis when REDIS_URL is set', async (t) => {
  const redis = await openBroker({ redisUrl: REDIS_TEST_URL, redisKeyPrefix: redisPrefix() }, 'a', captureLog())
  t.teardown(async () => { await redis.close() })
  t.equal(redis.name, 'redis', 'Redis broker')
  t.ok(redis.healthy, 'and connected')
  const memory = await openBroker({ redisUrl: undefined, redisKeyPrefix: 'x:' }, 'a', captureLog())
  t.equal(memory.name, 'memory', 'in-process without REDIS_URL')
})

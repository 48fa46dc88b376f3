import t from 'tap'
import type { BrokerEvent } from '../../src/broker/broker.js'
import { RedisBroker } from '../../src/broker/redis.js'
import { redisPrefix } from '../services.js'
import { captureLog, PrivateRedis, until } from './fixtures.js'

const say = (frame: string): BrokerEvent => ({ kind: 'broadcast', channel: 'global', frame })
const frames = (events: BrokerEvent[]): string[] => events.flatMap((e) => e.kind === 'broadcast' ? [e.frame] : [])

t.test('Redis stops and comes back: local delivery goes on, the link recovers, reconnect listeners run once', async (t) => {
  const server = await PrivateRedis.start(t)
  const prefix = redisPrefix()
  // A short reconnect cap keeps the test quick; the production default is 5 s.
  const reconnect = { initialMs: 50, maxMs: 200 }
  const logA = captureLog()
  const a = await RedisBroker.connect({ url: server.url, prefix, instanceId: 'a', log: logA, reconnect })
  const b = await RedisBroker.connect({ url: server.url, prefix, instanceId: 'b', log: captureLog(), reconnect })
  t.teardown(async () => { await Promise.all([a.close(), b.close()]) })
  const seenA: BrokerEvent[] = []
  const seenB: BrokerEvent[] = []
  a.subscribe((event) => { seenA.push(event) })
  b.subscribe((event) => { seenB.push(event) })
  let reconnectsA = 0
  let reconnectsB = 0
  a.onReconnect(() => { reconnectsA++ })
  b.onReconnect(() => { reconnectsB++ })

  await a.publish(say('before'))
  await until('delivered before the outage', () => frames(seenB).includes('before'))
  t.equal(reconnectsA, 0, 'the first connection is not a reconnect')

  await server.stop()
  await until('both see the link down', () => !a.healthy && !b.healthy)
  t.notOk(a.healthy || b.healthy, 'healthy is false on both while Redis is down')
  await a.publish(say('during'))
  t.same(frames(seenA), ['before', 'during'], 'local delivery goes on while Redis is down')
  t.equal(a.publishErrors, 1, 'the publish that could not cross is counted')

  await server.restart()
  await until('both healthy again', () => a.healthy && b.healthy, 10_000)
  await until('reconnect listeners ran', () => reconnectsA === 1 && reconnectsB === 1)
  t.ok(logA.has('reconnected'), 'the recovery is logged')

  await a.publish(say('after'))
  await until('cross-instance delivery works again', () => frames(seenB).includes('after'))
  await b.publish(say('reply'))
  await until('both ways', () => frames(seenA).includes('reply'))
  t.same(frames(seenB), ['before', 'after', 'reply'], 'the event published during the outage did not cross; nothing was doubled')
  t.equal(reconnectsA, 1, 'one reconnect call per recovery')
  t.equal(reconnectsB, 1, 'on both instances')
})

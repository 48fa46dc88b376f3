import t from 'tap'
import type { Redis } from 'ioredis'
import { MemoryBroker, type BrokerEvent } from '../../src/broker/broker.js'
import { parseEnvelope } from '../../src/broker/envelope.js'
import { RedisBroker } from '../../src/broker/redis.js'
import { RedisChannelLog } from '../../src/channels/history-redis.js'
import type { HistoryOptions } from '../../src/channels/history.js'
import { captureLog, deadRedisClient, redisClient, until } from '../broker/fixtures.js'
import { ManualClock } from '../clock.js'
import { REDIS_TEST_URL, redisPrefix } from '../services.js'
import type { Test } from 'tap'

const HISTORY: HistoryOptions = { size: 100, ttlSeconds: 300 }
const ROOM = 'room:x@y.z'
const message = (text: string): string => JSON.stringify({ type: 'message', from: 'alice', text })

interface Delivered {
  /** The broadcast event's channel. */
  readonly channel: string
  readonly frame: string
  /** The channel the frame itself names. */
  readonly named: string
  readonly offset: number
  readonly text: string
}

interface Instance {
  readonly log: RedisChannelLog
  readonly redis: Redis
  /** Every broadcast this instance's broker delivered, in order. */
  readonly delivered: Delivered[]
}

function parse (event: BrokerEvent): Delivered[] {
  if (event.kind !== 'broadcast') return []
  const body = JSON.parse(event.frame) as { channel: string, offset: number, text: string }
  return [{ channel: event.channel, frame: event.frame, named: body.channel, offset: body.offset, text: body.text }]
}

/** One "instance": its own command connection and its own subscribed RedisBroker, on the shared Redis. */
async function instance (t: Test, prefix: string, id: string, now?: () => number): Promise<Instance> {
  const redis = await redisClient(t)
  const broker = await RedisBroker.connect({ url: REDIS_TEST_URL, prefix, instanceId: id, log: captureLog() })
  const log = new RedisChannelLog({ redis, prefix, instanceId: id, broker, log: captureLog(), ...(now !== undefined ? { now } : {}) })
  const delivered: Delivered[] = []
  broker.subscribe((event) => { delivered.push(...parse(event)) })
  t.teardown(async () => { await log.close(); await broker.close() })
  return { log, redis, delivered }
}

async function publishAll (log: RedisChannelLog, channel: string, texts: string[], options = HISTORY): Promise<void> {
  for (const text of texts) await log.publish(channel, message(text), options)
}

/** Every message on the prefix's events channel, as a plain subscriber sees it. */
async function watchEvents (t: Parameters<typeof redisClient>[0], prefix: string): Promise<string[]> {
  const raw = await redisClient(t)
  const envelopes: string[] = []
  raw.on('message', (_channel: string, text: string) => { envelopes.push(text) })
  await raw.subscribe(`${prefix}events`)
  return envelopes
}

const texts = (frames: readonly string[]): string[] => frames.map((f) => (JSON.parse(f) as { text: string }).text)

t.test('offsets 1..n per channel; every frame reaches the publisher through Redis, in envelopes that parse back to the same JSON', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const envelopes = await watchEvents(t, prefix)
  const positions = []
  for (const text of ['1', '2', '3']) positions.push(await a.log.publish(ROOM, message(text), HISTORY))
  await a.log.publish('other', message('x'), HISTORY)
  t.same(positions.map((p) => p.offset), [1, 2, 3], 'publish returns each offset')
  t.equal(new Set(positions.map((p) => p.epoch)).size, 1, 'in one epoch')
  await until('the publisher receives its own messages', () => a.delivered.length === 4)
  t.same(a.delivered.map((d) => [d.channel, d.named, d.offset, d.text]), [[ROOM, ROOM, 1, '1'], [ROOM, ROOM, 2, '2'], [ROOM, ROOM, 3, '3'], ['other', 'other', 1, 'x']], 'in offset order, per channel, each frame naming its channel')
  t.same(JSON.parse(a.delivered[0]?.frame ?? ''), { type: 'message', from: 'alice', text: '1', channel: ROOM, offset: 1 }, 'the original fields, channel and offset')
  await until('the raw subscriber saw them', () => envelopes.length === 4)
  for (const text of envelopes) {
    const envelope = parseEnvelope(text)
    if (typeof envelope === 'string') throw new Error(envelope)
    t.equal(JSON.stringify(envelope), text, 'byte for byte the JSON of what it parses to')
    t.equal(envelope.origin, 'history@a', 'from an origin no instance has, so every instance delivers it')
  }
  const keys = (await a.redis.keys(`${prefix}*`)).sort()
  t.same(keys, [`${prefix}history-meta:other`, `${prefix}history-meta:${ROOM}`, `${prefix}history:other`, `${prefix}history:${ROOM}`].sort(), 'two keys per channel, all under the prefix')
  t.equal(await a.redis.xlen(`${prefix}history:${ROOM}`), 3, 'three messages kept')
  const streamTtl = await a.redis.pttl(`${prefix}history:${ROOM}`)
  const metaTtl = await a.redis.pttl(`${prefix}history-meta:${ROOM}`)
  t.ok(streamTtl > 290_000 && streamTtl <= 301_000, `the stream expires a TTL after the last publish (${streamTtl} ms)`)
  t.ok(metaTtl > 290_000 && metaTtl <= 300_000, `so does the meta (${metaTtl} ms)`)
})

t.test('a burst of one event-loop turn is one script run and one pub/sub message, offsets in call order', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const envelopes = await watchEvents(t, prefix)
  // Content that looks like the old offset mark, quotes and a brace must not confuse the splice.
  const tricky = ['nul \u0000 here', 'quote " and } brace', 'back\\slash', '\u0000']
  const positions = await Promise.all([...tricky, 'other-1'].map(async (text, i) => await a.log.publish(i === 4 ? 'other' : ROOM, message(text), HISTORY)))
  t.same(positions.map((p) => p.offset), [1, 2, 3, 4, 1], 'offsets in call order, per channel')
  await until('one message on the channel', () => envelopes.length === 1)
  await until('every frame delivered', () => a.delivered.length === 5)
  t.same(a.delivered.map((d) => [d.channel, d.offset, d.text]), [[ROOM, 1, tricky[0]], [ROOM, 2, tricky[1]], [ROOM, 3, tricky[2]], [ROOM, 4, tricky[3]], ['other', 1, 'other-1']], 'each frame intact, with its own offset')
  const envelope = parseEnvelope(envelopes[0] ?? '')
  t.ok(typeof envelope !== 'string' && 'events' in envelope && envelope.events.length === 5, 'the five events in one envelope')
  const { epoch } = await a.log.position(ROOM)
  const recovery = await a.log.recover(ROOM, { offset: 0, epoch })
  t.same(recovery.recovered ? recovery.frames : [], a.delivered.slice(0, 4).map((d) => d.frame), 'the kept frames are the delivered ones')
})

t.test('recover replays exactly the missed messages, in order, or nothing', async (t) => {
  const a = await instance(t, redisPrefix(), 'a')
  await publishAll(a.log, ROOM, ['1', '2', '3', '4', '5'])
  const { epoch } = await a.log.position(ROOM)
  await until('all delivered', () => a.delivered.length === 5)
  const recovery = await a.log.recover(ROOM, { offset: 2, epoch })
  t.same(recovery, { recovered: true, frames: a.delivered.slice(2).map((d) => d.frame), position: { offset: 5, epoch } }, 'messages 3 to 5, the very frames fanned out')
  t.same(await a.log.recover(ROOM, { offset: 5, epoch }), { recovered: true, frames: [], position: { offset: 5, epoch } }, 'nothing missed')
  t.same(await a.log.recover(ROOM, { offset: 2, epoch: 'deadbeef' }), { recovered: false, position: { offset: 5, epoch } }, 'another epoch: not recovered')
  t.same(await a.log.recover(ROOM, { offset: 9, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'an offset ahead: not recovered')
  t.same(await a.log.recover(ROOM, { offset: -1, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'a negative offset: not recovered')
})

t.test('size trimming: the last `size` are kept, and a gap behind them is never partly replayed', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  await publishAll(a.log, ROOM, ['1', '2', '3', '4', '5'], { size: 3, ttlSeconds: 300 })
  t.equal(await a.redis.xlen(`${prefix}history:${ROOM}`), 3, 'exactly three kept')
  const { epoch } = await a.log.position(ROOM)
  const from2 = await a.log.recover(ROOM, { offset: 2, epoch })
  t.same(from2.recovered ? texts(from2.frames) : false, ['3', '4', '5'], 'missing exactly the kept ones: replayed')
  t.same(await a.log.recover(ROOM, { offset: 1, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'message 2 was trimmed: nothing replayed')
  t.notOk((await a.log.recover(ROOM, { offset: 0, epoch })).recovered, 'nor from the start')
})

t.test('TTL trimming on the injected clock', async (t) => {
  const prefix = redisPrefix()
  const clock = new ManualClock()
  const a = await instance(t, prefix, 'a', () => clock.now())
  const options = { size: 100, ttlSeconds: 10 }
  await publishAll(a.log, ROOM, ['1', '2'], options)
  clock.advance(6000)
  await publishAll(a.log, ROOM, ['3'], options)
  const { epoch } = await a.log.position(ROOM)
  clock.advance(4000)
  t.notOk((await a.log.recover(ROOM, { offset: 1, epoch })).recovered, 'message 2 is 10 s old: expired, no replay from 1')
  const recent = await a.log.recover(ROOM, { offset: 2, epoch })
  t.same(recent.recovered ? texts(recent.frames) : false, ['3'], 'message 3 is 4 s old: replayed')
  clock.advance(6000)
  t.notOk((await a.log.recover(ROOM, { offset: 2, epoch })).recovered, 'then it expires too')
  const streamTtl = await a.redis.pttl(`${prefix}history:${ROOM}`)
  t.ok(streamTtl > 0 && streamTtl <= 11_000, `Redis collects the stream a TTL (plus a second) after the last publish (${streamTtl} ms)`)
  t.same(await a.log.position(ROOM), { offset: 3, epoch }, 'the offset and epoch outlive the history')
})

t.test('size 0 keeps nothing, but offsets advance and expire with the state TTL', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  await publishAll(a.log, ROOM, ['1', '2'], HISTORY)
  await publishAll(a.log, ROOM, ['3', '4'], { size: 0, ttlSeconds: 300 })
  t.equal(await a.redis.exists(`${prefix}history:${ROOM}`), 0, 'no stream (turning history off dropped the kept ones)')
  const position = await a.log.position(ROOM)
  t.equal(position.offset, 4, 'offsets advance')
  const ttl = await a.redis.pttl(`${prefix}history-meta:${ROOM}`)
  t.ok(ttl > 290_000 && ttl <= 300_000, `the meta still expires (${ttl} ms)`)
  t.notOk((await a.log.recover(ROOM, { offset: 3, epoch: position.epoch })).recovered, 'a missed message cannot be recovered')
  t.notOk((await a.log.recover(ROOM, { offset: 1, epoch: position.epoch })).recovered, 'nor one from before')
  t.ok((await a.log.recover(ROOM, position)).recovered, 'nothing missed is recovered')
})

t.test('a channel never published to has a stable epoch a later recover accepts', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const before = await a.log.position(ROOM)
  t.equal(before.offset, 0)
  t.same(await a.log.position(ROOM), before, 'the same epoch when asked again')
  const ttl = await a.redis.pttl(`${prefix}history-meta:${ROOM}`)
  t.ok(ttl > 290_000 && ttl <= 300_000, `the meta made by asking expires (${ttl} ms)`)
  await publishAll(a.log, ROOM, ['first'])
  const recovery = await a.log.recover(ROOM, before)
  t.same(recovery.recovered ? texts(recovery.frames) : false, ['first'], 'a subscriber from before the first message recovers it')
})

t.test('lost keys (eviction) start a new epoch; a lost stream alone makes recovery fail without a new epoch', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  await publishAll(a.log, ROOM, ['1', '2', '3'])
  const old = await a.log.position(ROOM)
  await a.redis.del(`${prefix}history:${ROOM}`)
  t.same(await a.log.position(ROOM), old, 'the stream alone gone: same epoch and offset')
  t.notOk((await a.log.recover(ROOM, { offset: 1, epoch: old.epoch })).recovered, 'but the missed messages are gone: not recovered')
  await publishAll(a.log, ROOM, ['4'])
  await a.redis.del(`${prefix}history-meta:${ROOM}`)
  const fresh = await a.log.position(ROOM)
  t.not(fresh.epoch, old.epoch, 'the meta gone: a new epoch')
  t.equal(fresh.offset, 0, 'starting at 0')
  t.notOk((await a.log.recover(ROOM, { offset: 3, epoch: old.epoch })).recovered, 'a client of the old epoch is told it lost messages')
  t.equal(await a.redis.exists(`${prefix}history:${ROOM}`), 0, 'the old epoch\'s stream went with it')
  const next = await a.log.publish(ROOM, message('5'), HISTORY)
  t.same(next, { offset: 1, epoch: fresh.epoch }, 'the next message is offset 1 of the new epoch')
  const recovery = await a.log.recover(ROOM, fresh)
  t.same(recovery.recovered ? texts(recovery.frames) : false, ['5'], 'and is recovered in it')
})

t.test('two instances publishing concurrently: both deliver every message once, in strictly increasing offset order', async (t) => {
  const prefix = redisPrefix()
  const a = await instance(t, prefix, 'a')
  const b = await instance(t, prefix, 'b')
  const count = 40
  const published = await Promise.all(Array.from({ length: 2 * count }, async (_, i) =>
    await (i % 2 === 0 ? a : b).log.publish(ROOM, message(`m${i}`), HISTORY)))
  t.same(published.map((p) => p.offset).sort((x, y) => x - y), Array.from({ length: 2 * count }, (_, i) => i + 1), 'each publish got its own offset, none skipped')
  await until('both received everything', () => a.delivered.length >= 2 * count && b.delivered.length >= 2 * count)
  const everyText = Array.from({ length: 2 * count }, (_, i) => `m${i}`).sort()
  for (const [name, inst] of [['a', a], ['b', b]] as const) {
    t.same(inst.delivered.map((d) => d.offset), Array.from({ length: 2 * count }, (_, i) => i + 1), `${name}: offsets 1..${2 * count} in order, each once`)
    t.same(inst.delivered.map((d) => d.text).sort(), everyText, `${name}: every message once, its own included`)
    t.ok(inst.delivered.every((d) => d.named === ROOM && d.channel === ROOM), `${name}: every frame names the channel`)
  }
  t.same(a.delivered, b.delivered, 'both instances delivered the same frames in the same order')
  const { epoch } = published[0] ?? { epoch: '' }
  const all = await b.log.recover(ROOM, { offset: 0, epoch })
  t.same(all.recovered ? all.frames : false, a.delivered.map((d) => d.frame), 'any instance recovers the same sequence')
})

t.test('prefixes are isolated', async (t) => {
  const one = await instance(t, redisPrefix(), 'a')
  const two = await instance(t, redisPrefix(), 'a')
  await publishAll(one.log, ROOM, ['1', '2'])
  const position = await two.log.publish(ROOM, message('x'), HISTORY)
  t.equal(position.offset, 1, 'the other prefix counts on its own')
  await until('each delivered its own', () => one.delivered.length === 2 && two.delivered.length === 1)
  t.same(two.delivered.map((d) => d.text), ['x'], 'and hears only its own messages')
  t.notOk((await two.log.recover(ROOM, await one.log.position(ROOM))).recovered, 'nor accepts the other\'s epoch')
})

t.test('Redis unreachable: publish resolves, delivers locally with local offsets, and logs once', async (t) => {
  const broker = new MemoryBroker('a')
  const delivered: Delivered[] = []
  broker.subscribe((event) => { delivered.push(...parse(event)) })
  const log = captureLog()
  const channelLog = new RedisChannelLog({ redis: await deadRedisClient(t), prefix: redisPrefix(), instanceId: 'a', broker, log })
  t.teardown(async () => { await channelLog.close() })
  const positions = []
  for (const text of ['1', '2', '3']) positions.push(await channelLog.publish(ROOM, message(text), HISTORY))
  t.same(delivered.map((d) => [d.channel, d.named, d.offset, d.text]), [[ROOM, ROOM, 1, '1'], [ROOM, ROOM, 2, '2'], [ROOM, ROOM, 3, '3']], 'delivered locally, numbered by the instance')
  t.same(await channelLog.position(ROOM), positions[2], 'position is the local one')
  t.notOk((await channelLog.recover(ROOM, { offset: 1, epoch: positions[2]?.epoch ?? '' })).recovered, 'no history is kept meanwhile')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'logged once for the outage, not per call')
  t.equal(log.lines.length, 1, 'and nothing else')
})

import t from 'tap'
import { MemoryBroker, type BrokerEvent } from '../../src/broker/broker.js'
import { frameHead, withChannelOffset } from '../../src/channels/history-frame.js'
import { MemoryChannelLog } from '../../src/channels/history-memory.js'
import type { HistoryOptions } from '../../src/channels/history.js'
import { ManualClock } from '../clock.js'
import type { Test } from 'tap'

const HISTORY: HistoryOptions = { size: 100, ttlSeconds: 300 }
const message = (text: string): string => JSON.stringify({ type: 'message', from: 'alice', text })

function setup (t: Test): { log: MemoryChannelLog, clock: ManualClock, delivered: BrokerEvent[] } {
  const broker = new MemoryBroker('a')
  const clock = new ManualClock()
  const log = new MemoryChannelLog(broker, () => clock.now())
  const delivered: BrokerEvent[] = []
  broker.subscribe((event) => { delivered.push(event) })
  t.teardown(async () => { await log.close() })
  return { log, clock, delivered }
}

/** Publishes `texts` in order and returns the frames the broker delivered for them. */
async function publishAll (log: MemoryChannelLog, channel: string, texts: string[], options = HISTORY): Promise<void> {
  for (const text of texts) await log.publish(channel, message(text), options)
}

t.test('the frame helper appends channel and offset to the JSON text', async (t) => {
  const frame = withChannelOffset(message('hi "there"'), 'chat:room@x.y', 42)
  t.same(JSON.parse(frame), { type: 'message', from: 'alice', text: 'hi "there"', channel: 'chat:room@x.y', offset: 42 }, 'the original fields, then channel and offset')
  t.ok(frame.startsWith(message('hi "there"').slice(0, -1)), 'the original text is kept as it was, not re-serialised')
  t.same(JSON.parse(withChannelOffset('{}', 'c', 1)), { channel: 'c', offset: 1 }, 'an empty object takes no comma')
  t.same(JSON.parse(`${frameHead('{"a":1}', 'we"ird\\')}7}`), { a: 1, channel: 'we"ird\\', offset: 7 }, 'the channel is JSON-escaped')
  t.throws(() => withChannelOffset('"text"', 'c', 1), TypeError, 'a frame that is not an object is refused')
})

t.test('offsets grow by 1 per channel from 1, and each frame is delivered before publish returns', async (t) => {
  const { log, delivered } = setup(t)
  const first = log.publish('a', message('1'), HISTORY)
  t.equal(delivered.length, 1, 'delivered synchronously, before the promise settles')
  const position = await first
  t.equal(position.offset, 1)
  await publishAll(log, 'a', ['2', '3'])
  await publishAll(log, 'b:x@y.z', ['1', '2'])
  const frames = delivered.map((event) => {
    if (event.kind !== 'broadcast') throw new Error('not a broadcast')
    return { channel: event.channel, body: JSON.parse(event.frame) as Record<string, unknown> }
  })
  t.same(frames.map((f) => [f.channel, f.body.channel, f.body.offset, f.body.text]),
    [['a', 'a', 1, '1'], ['a', 'a', 2, '2'], ['a', 'a', 3, '3'], ['b:x@y.z', 'b:x@y.z', 1, '1'], ['b:x@y.z', 'b:x@y.z', 2, '2']],
    'each channel counts on its own; the frame names its channel and offset')
  t.same(frames[0]?.body, { type: 'message', from: 'alice', text: '1', channel: 'a', offset: 1 }, 'with the original fields')
  const a = await log.position('a')
  t.same(a, { offset: 3, epoch: position.epoch }, 'position is the last offset in the same epoch')
  t.not((await log.position('b:x@y.z')).epoch, a.epoch, 'each channel has its own epoch')
})

t.test('recover replays exactly the missed messages in order, or nothing', async (t) => {
  const { log, delivered } = setup(t)
  await publishAll(log, 'c', ['1', '2', '3', '4', '5'])
  const { epoch } = await log.position('c')
  const recovery = await log.recover('c', { offset: 2, epoch })
  t.same(recovery, { recovered: true, frames: delivered.slice(2).map((e) => e.kind === 'broadcast' ? e.frame : ''), position: { offset: 5, epoch } },
    'messages 3, 4 and 5, as the very frames that were fanned out')
  t.same(await log.recover('c', { offset: 5, epoch }), { recovered: true, frames: [], position: { offset: 5, epoch } }, 'nothing missed: recovered, no frames')
  t.same(await log.recover('c', { offset: 0, epoch }).then((r) => r.recovered && r.frames.length), 5, 'from 0: everything')
  t.same(await log.recover('c', { offset: 2, epoch: 'deadbeef' }), { recovered: false, position: { offset: 5, epoch } }, 'another epoch: not recovered')
  t.same(await log.recover('c', { offset: 6, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'an offset ahead of the channel: not recovered')
  t.same(await log.recover('c', { offset: -1, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'a negative offset: not recovered')
  t.same(await log.recover('c', { offset: 1.5, epoch }), { recovered: false, position: { offset: 5, epoch } }, 'a fractional offset: not recovered')
})

t.test('a channel never published to has a stable epoch that a later recover accepts', async (t) => {
  const { log } = setup(t)
  const before = await log.position('quiet')
  t.equal(before.offset, 0, 'offset 0 before the first message')
  t.same(await log.position('quiet'), before, 'asking again gives the same epoch')
  await publishAll(log, 'quiet', ['first'])
  const recovery = await log.recover('quiet', before)
  t.ok(recovery.recovered, 'a subscriber from before the first message recovers it')
  t.same(recovery.recovered ? recovery.frames.map((f) => (JSON.parse(f) as { text: string }).text) : [], ['first'])
})

t.test('size trimming: only the last `size` are kept, and a gap behind them is not replayed', async (t) => {
  const { log } = setup(t)
  await publishAll(log, 'c', ['1', '2', '3', '4', '5'], { size: 3, ttlSeconds: 300 })
  const { epoch } = await log.position('c')
  const texts = async (offset: number): Promise<unknown> => {
    const r = await log.recover('c', { offset, epoch })
    return r.recovered ? r.frames.map((f) => (JSON.parse(f) as { text: string }).text) : false
  }
  t.same(await texts(2), ['3', '4', '5'], 'missing exactly the kept ones: replayed')
  t.equal(await texts(1), false, 'message 2 was trimmed: no replay at all, not even 3 to 5')
  t.equal(await texts(0), false, 'from the start: not recovered')
})

t.test('TTL trimming on the injected clock', async (t) => {
  const { log, clock } = setup(t)
  const options = { size: 100, ttlSeconds: 10 }
  await publishAll(log, 'c', ['1', '2'], options)
  clock.advance(6000)
  await publishAll(log, 'c', ['3'], options)
  const { epoch } = await log.position('c')
  t.same(await log.recover('c', { offset: 0, epoch }).then((r) => r.recovered && r.frames.length), 3, 'all kept within the TTL')
  clock.advance(4000)
  t.notOk((await log.recover('c', { offset: 1, epoch })).recovered, 'message 2 is 10 s old: expired, so no replay from 1')
  const recent = await log.recover('c', { offset: 2, epoch })
  t.same(recent.recovered ? recent.frames.length : -1, 1, 'message 3 is 4 s old: still replayed')
  clock.advance(6000)
  t.notOk((await log.recover('c', { offset: 2, epoch })).recovered, 'then it expires too')
  t.same(await log.position('c'), { offset: 3, epoch }, 'the offset and epoch outlive the history (state TTL 300 s)')
})

t.test('size 0 keeps nothing but offsets still advance', async (t) => {
  const { log } = setup(t)
  const off = { size: 0, ttlSeconds: 300 }
  await publishAll(log, 'c', ['1', '2', '3'], off)
  const position = await log.position('c')
  t.equal(position.offset, 3, 'offsets advance')
  t.notOk((await log.recover('c', { offset: 2, epoch: position.epoch })).recovered, 'a missed message cannot be recovered')
  t.ok((await log.recover('c', position)).recovered, 'nothing missed is still recovered')
  await publishAll(log, 'd', ['1', '2'], HISTORY)
  await publishAll(log, 'd', ['3'], off)
  const d = await log.position('d')
  t.notOk((await log.recover('d', { offset: 1, epoch: d.epoch })).recovered, 'turning history off drops what was kept')
})

t.test('an idle channel\'s state is dropped; it starts again at offset 1 in a new epoch', async (t) => {
  const { log, clock } = setup(t)
  await publishAll(log, 'idle', ['1', '2'], { size: 100, ttlSeconds: 10 })
  await log.position('looked-at')
  const old = await log.position('idle')
  t.equal(log.channelCount, 2)
  clock.advance(299_000)
  t.same(await log.position('idle'), old, 'kept for the state TTL (300 s) after the last publish')
  // Sweeps run at most every 10 s of activity; the last one was at 299 s.
  clock.advance(10_000)
  await log.position('other')
  t.equal(log.channelCount, 1, 'a sweep dropped both idle channels, even the one nobody asked for again')
  const fresh = await log.publish('idle', message('3'), HISTORY)
  t.equal(fresh.offset, 1, 'offsets restart')
  t.not(fresh.epoch, old.epoch, 'in a new epoch')
  t.notOk((await log.recover('idle', old)).recovered, 'so a client of the old epoch is told it lost messages')
  await publishAll(log, 'long', ['1'], { size: 100, ttlSeconds: 600 })
  const long = await log.position('long')
  clock.advance(599_000)
  t.same(await log.position('long'), long, 'a history TTL longer than the state TTL keeps the channel that long')
})

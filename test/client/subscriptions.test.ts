import t from 'tap'
import { Subscriptions } from '../../src/client/subscriptions.js'
import { ChannelEvents } from './channel-events.js'

/**
 * The channel bookkeeping on its own, fed the frames a server could send in
 * the orders the network allows (a replay with live messages before and
 * among it, duplicates, a new epoch), which a real server produces only by
 * chance. The end-to-end behaviour is in channels.test.ts.
 */

type Frame = Record<string, unknown>

function setup (): { subs: Subscriptions, sent: Frame[], connected: { value: boolean } } {
  const sent: Frame[] = []
  const connected = { value: false }
  const subs = new Subscriptions((frame) => {
    if (!connected.value) return false
    sent.push(frame as Frame)
    return true
  })
  return { subs, sent, connected }
}

const msg = (offset: number, channel = 'room'): { type: string, channel: string, offset: number, text: string } =>
  ({ type: 'chat', channel, offset, text: `m${offset}` })

t.test('recovers from the last position; a replay mixed with live messages reaches the app once, in order', async (t) => {
  const { subs, sent, connected } = setup()
  const events = new ChannelEvents()
  subs.add('room', events)
  t.same(sent, [], 'nothing is sent without a socket')
  connected.value = true
  subs.opened()
  t.match(sent, [{ type: 'subscribe', channel: 'room', requestId: /^sub-/ }])
  t.notOk('recover' in (sent[0] ?? {}), 'a first subscribe has nothing to recover')
  subs.receive({ type: 'subscribed', channel: 'room', offset: 4, epoch: 'e1' })
  subs.receive(msg(5))
  subs.receive(msg(6))
  subs.receive(msg(6))
  t.same(events.offsets(), [5, 6], 'a duplicate is dropped')
  t.match(subs.get('room'), { status: 'subscribed', offset: 6, epoch: 'e1', recovered: undefined })

  subs.lost()
  t.equal(subs.get('room')?.status, 'subscribing')
  subs.opened()
  t.match(sent.at(-1), { type: 'subscribe', channel: 'room', recover: { offset: 6, epoch: 'e1' } })
  // A live message before the replay, the replay, and the live one again inside it.
  subs.receive(msg(9))
  subs.receive(msg(7))
  subs.receive(msg(8))
  subs.receive(msg(9))
  t.same(events.offsets(), [5, 6], 'held until the reply')
  subs.receive({ type: 'subscribed', channel: 'room', offset: 9, epoch: 'e1', recovered: true })
  subs.receive(msg(9))
  subs.receive(msg(10))
  t.same(events.offsets(), [5, 6, 7, 8, 9, 10])
  t.same(events.recoveryFailed, [])
  t.match(events.subscribed.at(-1), { recovered: true, offset: 9 })
})

t.test('a new epoch: the app is told to reload and offsets start over', async (t) => {
  const { subs, connected } = setup()
  connected.value = true
  const events = new ChannelEvents()
  subs.add('room', events)
  subs.receive({ type: 'subscribed', channel: 'room', offset: 0, epoch: 'e1' })
  subs.receive(msg(1))
  subs.receive(msg(2))
  subs.lost()
  subs.opened()
  subs.receive({ type: 'subscribed', channel: 'room', offset: 0, epoch: 'e2', recovered: false })
  t.match(events.recoveryFailed, [{ channel: 'room', epoch: 'e2', offset: 0, recovered: false }])
  subs.receive(msg(1))
  t.same(events.offsets(), [1, 2, 1], 'offset 1 of the new epoch is new')
  t.match(subs.get('room'), { offset: 1, epoch: 'e2' })
})

t.test('refusals and server-side removals forget the channel; the app\'s own unsubscribe reply does not', async (t) => {
  const { subs, sent, connected } = setup()
  connected.value = true
  const refused = new ChannelEvents()
  const kept = new ChannelEvents()
  subs.add('admin:ops', refused)
  subs.add('room', kept)
  const requestId = sent[0]?.requestId
  subs.receive({ type: 'error', code: 'rate_limited', message: 'slow down' })
  t.same(refused.removed, [], 'an error frame without the request id is not the answer')
  subs.receive({ type: 'error', code: 'forbidden', message: 'Not allowed', requestId })
  t.same(refused.removed, [{ channel: 'admin:ops', reason: 'forbidden', message: 'Not allowed' }])
  t.equal(subs.get('admin:ops'), undefined)

  subs.receive({ type: 'subscribed', channel: 'room', offset: 0, epoch: 'e1' })
  subs.receive({ type: 'unsubscribed', channel: 'room' })
  t.equal(subs.get('room')?.status, 'subscribed', 'an unsubscribed without a reason is a reply, not a removal')
  subs.receive({ type: 'join', channel: 'room', user: 'u', connectionId: 'c1' })
  subs.receive({ type: 'leave', channel: 'room', user: 'u', connectionId: 'c1' })
  t.same([kept.joins, kept.leaves], [[{ user: 'u', connectionId: 'c1' }], [{ user: 'u', connectionId: 'c1' }]])
  subs.receive({ type: 'unsubscribed', channel: 'room', reason: 'forbidden' })
  t.same(kept.removed, [{ channel: 'room', reason: 'forbidden' }])
  t.same(subs.list(), [])
  subs.lost()
  subs.opened()
  t.notOk(sent.some((f, i) => i > 1 && f.type === 'subscribe'), 'a removed channel is not rejoined after a reconnect')
})

t.test('several handlers share one membership; the last one out leaves', async (t) => {
  const { subs, sent, connected } = setup()
  connected.value = true
  const a = new ChannelEvents()
  const b = new ChannelEvents()
  const first = subs.add('room', a)
  const second = subs.add('room', b)
  t.equal(sent.filter((f) => f.type === 'subscribe').length, 1)
  subs.receive({ type: 'subscribed', channel: 'room', offset: 0, epoch: 'e1' })
  subs.receive(msg(1))
  t.same([a.offsets(), b.offsets()], [[1], [1]])
  first.unsubscribe()
  t.equal(sent.filter((f) => f.type === 'unsubscribe').length, 0, 'still one subscriber')
  t.equal(second.state.offset, 1)
  second.unsubscribe()
  t.same(sent.at(-1), { type: 'unsubscribe', channel: 'room' })
})

import t from 'tap'
import { InstanceTable } from '../../src/broker/instance-table.js'
import { ManualClock } from '../clock.js'

const snapshot = (connections: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  connections,
  users: connections,
  pending: 1,
  messagesInPerSecond: 0.1,
  messagesOutPerSecond: 0.2,
  authSuccessesLastMinute: 3,
  authFailuresLastMinute: 4,
  memory: { rss: 100 },
  uptimeSeconds: 50,
  ...extra
})

t.test('keeps the latest snapshot per instance and sums the additive fields', async (t) => {
  const clock = new ManualClock()
  const table = new InstanceTable({ intervalMs: 1000, now: () => clock.now() })
  table.record('b', snapshot(5))
  table.record('a', snapshot(1))
  table.record('a', snapshot(2))
  const { instances, totals } = table.view()
  t.same(instances.map((row) => row.instanceId), ['a', 'b'], 'one row per instance, ordered by id')
  t.equal(instances[0]?.snapshot.connections, 2, 'the latest snapshot replaces the earlier one')
  t.same(totals, {
    connections: 7, users: 7, pending: 2, messagesInPerSecond: 0.2, messagesOutPerSecond: 0.4, authSuccessesLastMinute: 6, authFailuresLastMinute: 8
  }, 'sums of the additive fields only (no memory, no uptime)')
})

t.test('an instance not heard from within the missed intervals drops out', async (t) => {
  const clock = new ManualClock()
  const table = new InstanceTable({ intervalMs: 1000, missedIntervals: 3, now: () => clock.now() })
  table.record('a', snapshot(1))
  table.record('b', snapshot(10))
  clock.advance(2000)
  table.record('a', snapshot(1))
  clock.advance(1000)
  t.same(table.rows().map((row) => row.instanceId), ['a', 'b'], 'b at exactly three intervals is still in')
  clock.advance(1)
  t.same(table.rows().map((row) => row.instanceId), ['a'], 'then it is dropped')
  t.equal(table.totals().connections, 1, 'and leaves the totals')
  table.record('b', snapshot(10))
  t.equal(table.totals().connections, 11, 'it comes back with its next snapshot')
  table.forget('b')
  t.equal(table.totals().connections, 1, 'forget removes at once')
})

t.test('missing or non-numeric fields count zero', async (t) => {
  const table = new InstanceTable({ intervalMs: 1000, now: () => 0 })
  table.record('a', { connections: '7', users: Number.NaN, pending: null })
  table.record('b', { connections: 2 })
  const totals = table.totals()
  t.equal(totals.connections, 2, 'a string is not summed')
  t.equal(totals.users, 0, 'NaN is not summed')
  t.equal(totals.authFailuresLastMinute, 0, 'missing is zero')
})

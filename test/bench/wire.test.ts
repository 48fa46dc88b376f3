import { randomUUID } from 'node:crypto'
import t from 'tap'
import { benchMessage, parseSioPacket, readBenchFields, sioEventPacket, stampProblem } from '../../scripts/bench/lib/wire.js'

t.test('bench messages have the requested size', async (t) => {
  for (const size of [128, 256, 1000]) t.equal(Buffer.byteLength(benchMessage(3, 12345, 987654321012, size)), size)
  const m = JSON.parse(benchMessage(1, 2, 3, 256)) as Record<string, unknown>
  t.match(m, { type: 'bench', ph: 1, seq: 2, t: 3 })
})

t.test('readBenchFields finds the fields wherever the server put them', async (t) => {
  const stamped = { ...JSON.parse(benchMessage(7, 42, 123456789, 256)) as object, user: 'user', timestamp: 1795412079.298, requestId: randomUUID() }
  const json = JSON.stringify(stamped)
  t.same(readBenchFields(Buffer.from(json)), { ph: 7, seq: 42, t: 123456789 })
  // A server may build the frame in another order: stamps first, then the sender's fields.
  const { user, requestId, timestamp, ...rest } = stamped
  const reordered = JSON.stringify({ user, requestId, timestamp, ...rest })
  t.same(readBenchFields(Buffer.from(reordered)), { ph: 7, seq: 42, t: 123456789 })
  t.same(readBenchFields(Buffer.from(sioEventPacket(json))), { ph: 7, seq: 42, t: 123456789 }, 'inside a Socket.IO event')
  t.equal(readBenchFields(Buffer.from('{"type":"connection_established","user":"user"}')), undefined)
})

t.test('stampProblem accepts a correctly stamped message and names what is wrong otherwise', async (t) => {
  const sent = JSON.parse(benchMessage(1, 5, 99, 256)) as Record<string, unknown>
  const good = { ...sent, user: 'user', timestamp: Date.now() / 1000, requestId: randomUUID() }
  t.equal(stampProblem(good, 'user', 256), undefined)
  t.match(stampProblem({ ...good, user: 'mallory' }, 'user', 256), /user/)
  t.match(stampProblem({ ...good, timestamp: Date.now() }, 'user', 256), /timestamp/)
  t.match(stampProblem({ ...good, requestId: 'abc' }, 'user', 256), /requestId/)
  t.match(stampProblem({ ...good, pad: 'x' }, 'user', 256), /intact/)
  t.match(stampProblem([good], 'user', 256), /object/)
})

t.test('Socket.IO packets', async (t) => {
  t.same(parseSioPacket('0{"sid":"a"}'), { kind: 'open' })
  t.same(parseSioPacket('2'), { kind: 'ping' })
  t.same(parseSioPacket('40{"sid":"b"}'), { kind: 'connected' })
  t.same(parseSioPacket('44{"message":"Invalid token"}'), { kind: 'connect-error', message: 'Invalid token' })
  t.same(parseSioPacket('42["message",{"type":"x"}]'), { kind: 'event', name: 'message', data: { type: 'x' } })
})

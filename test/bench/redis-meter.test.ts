import { Redis } from 'ioredis'
import t from 'tap'
import { RedisMeter } from '../../scripts/bench/lib/redis-cpu.js'
import { REDIS_TEST_URL, redisPrefix } from '../services.js'

// fanout2 charges Redis's CPU to the deliveries: against the machine's Redis,
// the meter must see work done in between two readings, and clean up a prefix.
t.test('the Redis meter counts CPU Redis spends, and deletes a prefix\'s keys', async (t) => {
  const meter = await RedisMeter.open(REDIS_TEST_URL)
  const client = new Redis(REDIS_TEST_URL)
  t.teardown(() => {
    meter.close()
    client.disconnect()
  })
  t.ok(meter.pid > 0, `Redis pid ${meter.pid}`)
  t.equal(meter.source, 'info', 'INFO cpu, to the microsecond')
  const prefix = redisPrefix()
  const before = await meter.seconds()
  const pipeline = client.pipeline()
  for (let i = 0; i < 5000; i++) pipeline.set(`${prefix}${i}`, 'x'.repeat(64))
  await pipeline.exec()
  const after = await meter.seconds()
  t.ok(after > before, `5 000 SETs show as Redis CPU (${((after - before) * 1e3).toFixed(2)} ms)`)
  const other = `${redisPrefix()}kept`
  await client.set(other, '1', 'EX', 5)
  t.equal(await meter.deletePrefix(prefix), 5000)
  t.equal((await client.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10000))[1].length, 0, 'none left')
  t.equal(await client.get(other), '1', 'another prefix\'s key untouched')
  await client.del(other)
})

t.test('no Redis at the URL: open fails instead of hanging', async (t) => {
  // Port 1 on 127.0.0.1: nothing listens there, the connection is refused at once.
  await t.rejects(RedisMeter.open('redis://127.0.0.1:1'))
})

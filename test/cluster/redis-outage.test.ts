import t from 'tap'
import { PrivateRedis, until } from '../broker/fixtures.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { cluster, login, type Instance } from './cluster.js'

// Redis stopped and started again under two running instances (a private
// redis-server: the shared one is never touched). While it is down each
// instance serves its own sockets and says it is not ready; a revocation made
// meanwhile cannot cross, so it must take effect once Redis is back.

const redis = await PrivateRedis.start(t)
const c = await cluster(t, { redisUrl: redis.url })
const [a, b] = await Promise.all([c.start('A'), c.start('B')])

async function ready (instance: Instance): Promise<number> {
  return (await fetch(`${instance.url}/ready`)).status
}

t.test('both instances survive a Redis outage and catch up after it', async (t) => {
  const revoked = await login(a, 'user', 'password')
  const kept = await login(a, 'user', 'password')
  const doomedOnB = await TestSocket.connect(`${b.wsUrl}/ws?token=${revoked.access_token}`)
  const [onA1, onA2] = await Promise.all([
    TestSocket.connect(`${a.wsUrl}/ws?token=${kept.access_token}`),
    TestSocket.connect(`${a.wsUrl}/ws?token=${kept.access_token}`)
  ])
  const onB = await TestSocket.connect(`${b.wsUrl}/ws?token=${kept.access_token}`)
  t.teardown(() => { for (const s of [doomedOnB, onA1, onA2, onB]) s.close() })
  t.same([await ready(a), await ready(b)], [200, 200], 'ready before the outage')

  await redis.stop()
  await until('both instances report not ready', async () => await ready(a) === 503 && await ready(b) === 503, 15_000)
  const body = await (await fetch(`${a.url}/ready`)).json() as { error: string }
  t.equal(body.error, 'temporarily_unavailable')

  onA1.send({ type: 'chat', text: 'during the outage' })
  t.match(await onA2.nextOfType('chat'), { text: 'during the outage' }, 'local fan-out goes on')
  const me = await fetch(`${b.url}/me`, { headers: { authorization: `Bearer ${kept.access_token}` } })
  t.equal(me.status, 200, 'B still answers requests')

  const revoke = await fetch(`${a.url}/token/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: revoked.refresh_token })
  })
  t.equal(revoke.status, 200, 'a revocation during the outage is stored')

  await redis.restart()
  await until('both instances ready again', async () => await ready(a) === 200 && await ready(b) === 200, 20_000)
  t.same(await closedWithin(doomedOnB, 5000), { code: 1008, reason: 'Session revoked' }, 'B closed the socket revoked during the outage')

  onA1.send({ type: 'chat', text: 'after the outage' })
  t.match(await onB.nextOfType('chat', 5000), { text: 'after the outage' }, 'cross-instance delivery is back')
  t.ok(a.child.process.exitCode === null && b.child.process.exitCode === null, 'neither process exited')
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { until } from '../broker/fixtures.js'
import { tempDir } from '../helper.js'
import { TestSocket, type Json } from '../ws-client.js'
import { cluster, login, type Instance } from './cluster.js'

// Channels across two instances on one Redis: offsets are the channel's, not
// an instance's; a subscriber that drops from A recovers on B; presence lists
// the sockets of both and forgets a killed instance's; a role taken away by
// the CLI takes a socket on B out of a channel at once.

const dir = tempDir(t)
const channelsFile = join(dir, 'channels.yaml')
writeFileSync(channelsFile, `namespaces:
  chat:
    presence: true
    joinLeave: true
`)
const c = await cluster(t, { env: { CHANNELS_FILE: channelsFile, INSTANCE_LEASE_SECONDS: '2' } })
const [a, b] = await Promise.all([c.start('A'), c.start('B')])

async function connect (instance: Instance, token: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${instance.wsUrl}/ws?token=${token}`)
  t.teardown(() => { socket.close() })
  return socket
}

async function subscribe (socket: TestSocket, channel: string, recover?: Json): Promise<{ replay: Json[], reply: Json }> {
  socket.send({ type: 'subscribe', channel, ...(recover !== undefined ? { recover } : {}) })
  const { before, found } = await socket.upTo((m) => m.type === 'subscribed' || m.type === 'error')
  return { replay: before.filter((m) => m.type === 'chat'), reply: found }
}

t.test('a subscriber that drops from A recovers the missed messages on B, in order, once', async (t) => {
  const token = (await login(a, 'user', 'password')).access_token
  const onA = await connect(a, token)
  const senderOnB = await connect(b, token)
  const first = await subscribe(onA, 'news')
  await subscribe(senderOnB, 'news')
  senderOnB.send({ type: 'chat', channel: 'news', n: 1 })
  senderOnB.send({ type: 'chat', channel: 'news', n: 2 })
  const seen = [await onA.nextOfType('chat'), await onA.nextOfType('chat')]
  t.same(seen.map((m) => [m.n, m.offset]), [[1, 1], [2, 2]], 'offsets come from the channel, across instances')
  onA.close()
  for (let n = 3; n <= 6; n++) senderOnB.send({ type: 'chat', channel: 'news', n })
  await senderOnB.until((m) => m.n === 6)
  const onB = await connect(b, token)
  const back = await subscribe(onB, 'news', { offset: 2, epoch: first.reply.epoch })
  t.same(back.replay.map((m) => m.n), [3, 4, 5, 6], 'exactly the missed ones, in order')
  t.match(back.reply, { recovered: true, offset: 6, epoch: first.reply.epoch })
  senderOnB.send({ type: 'chat', channel: 'news', n: 7 })
  t.same((await onB.until((m) => m.n === 7)).filter((m) => m.type === 'chat'), [], 'none twice')
})

t.test('a role taken away with the CLI takes a socket on B out of admin:* at once', async (t) => {
  t.equal((await c.users(['add', 'ada', '--role', 'admin'], 'ada-password\n')).code, 0)
  const socket = await connect(b, (await login(a, 'ada', 'ada-password')).access_token)
  t.match((await subscribe(socket, 'admin:ops')).reply, { type: 'subscribed' })
  t.equal((await c.users(['role', 'ada', 'remove', 'admin'])).code, 0)
  t.same(await socket.nextOfType('unsubscribed', 5000), { type: 'unsubscribed', channel: 'admin:ops', reason: 'forbidden' })
})

t.test('presence lists the sockets of both instances and drops a killed instance\'s', async (t) => {
  const token = (await login(a, 'user', 'password')).access_token
  const onA = await connect(a, token)
  const onB = await connect(b, token)
  await subscribe(onA, 'chat:lobby')
  await subscribe(onB, 'chat:lobby')
  t.match(await onA.nextOfType('join'), { channel: 'chat:lobby', user: 'user' }, 'A hears the join on B')
  const ask = async (socket: TestSocket): Promise<string[]> => {
    socket.send({ type: 'presence', channel: 'chat:lobby' })
    const reply = await socket.nextOfType('presence')
    return (reply.clients as Array<{ connectionId: string }>).map((client) => client.connectionId).sort()
  }
  const both = await ask(onB)
  t.equal(both.length, 2, 'both sockets, seen from B')
  t.same(await ask(onA), both, 'and the same from A')
  a.child.process.kill('SIGKILL')
  await a.child.closed()
  // A's entry is leased: it goes when the lease runs out, without A saying so.
  await until('presence on B forgets the killed instance', async () => (await ask(onB)).length === 1, 15_000)
  t.pass('the killed instance\'s socket left the presence list')
})

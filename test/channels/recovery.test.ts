import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { build, tempDir, type Built } from '../helper.js'
import { TestSocket, type Json } from '../ws-client.js'

// Offsets, recovery, presence and join/leave on one instance (the in-process
// log): a subscriber that drops while messages flow gets exactly the missed
// ones back, in order, once; a restart (a new epoch) or a gap no longer kept
// refuses the recovery without a partial replay; bad recover objects are
// error frames on a socket that stays open.

const CHANNELS_YAML = `namespaces:
  chat:
    subscribe: anyone
    publish: subscribers
    presence: true
    joinLeave: true
  tiny:
    history: { size: 3, ttlSeconds: 300 }
`

async function app (t: Test, dir?: string): Promise<Built> {
  const folder = dir ?? tempDir(t)
  const file = join(folder, 'channels.yaml')
  writeFileSync(file, CHANNELS_YAML)
  return await build(t, { CHANNELS_FILE: file }, { dir: folder })
}

async function connect (t: Test, built: Built, token: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.teardown(() => { socket.close() })
  return socket
}

/** Subscribes and returns what was replayed before the answer, and the answer (`subscribed` or an error). */
async function subscribe (socket: TestSocket, channel: string, recover?: Json): Promise<{ replay: Json[], reply: Json }> {
  socket.send({ type: 'subscribe', channel, ...(recover !== undefined ? { recover } : {}) })
  const { before, found } = await socket.upTo((m) => m.type === 'subscribed' || m.type === 'error')
  return { replay: before, reply: found }
}

t.test('a subscriber that drops recovers exactly the missed messages, in order, once', async (t) => {
  const built = await app(t)
  const token = (await built.login()).access_token
  const sender = await connect(t, built, token)
  const reader = await connect(t, built, token)
  const first = await subscribe(reader, 'chat:room')
  t.match(first.reply, { type: 'subscribed', channel: 'chat:room', offset: 0, epoch: String })
  await subscribe(sender, 'chat:room')
  for (let i = 1; i <= 3; i++) sender.send({ type: 'chat', channel: 'chat:room', n: i })
  const seen: Json[] = []
  for (let i = 1; i <= 3; i++) seen.push(await reader.nextOfType('chat'))
  t.same(seen.map((m) => [m.n, m.offset, m.channel]), [[1, 1, 'chat:room'], [2, 2, 'chat:room'], [3, 3, 'chat:room']], 'offsets grow by one per channel')
  reader.close()

  for (let i = 4; i <= 8; i++) sender.send({ type: 'chat', channel: 'chat:room', n: i })
  // The sender is subscribed too: its copy of the last one says all eight are in the log.
  await sender.until((m) => m.n === 8)
  const back = await connect(t, built, token)
  const { replay, reply } = await subscribe(back, 'chat:room', { offset: 3, epoch: first.reply.epoch })
  t.same(replay.map((m) => m.n), [4, 5, 6, 7, 8], 'exactly the five missed, in order')
  t.same(replay.map((m) => m.offset), [4, 5, 6, 7, 8])
  t.match(reply, { type: 'subscribed', channel: 'chat:room', offset: 8, epoch: first.reply.epoch, recovered: true })
  sender.send({ type: 'chat', channel: 'chat:room', n: 9 })
  const after = await back.until((m) => m.n === 9)
  t.same(after.filter((m) => m.type === 'chat'), [], 'nothing replayed twice before the next live message')
})

t.test('recovery is refused, with no partial replay, when the epoch changed or the gap is gone', async (t) => {
  const dir = tempDir(t)
  const built = await app(t, dir)
  const token = (await built.login()).access_token
  const socket = await connect(t, built, token)
  const { reply } = await subscribe(socket, 'tiny:x')
  for (let i = 1; i <= 5; i++) socket.send({ type: 'chat', channel: 'tiny:x', n: i })
  await socket.until((m) => m.n === 5)
  const gone = await subscribe(await connect(t, built, token), 'tiny:x', { offset: 1, epoch: reply.epoch })
  t.same(gone.replay, [], 'size 3 keeps 3..5: from 1, message 2 is gone, so nothing is replayed')
  t.match(gone.reply, { recovered: false, offset: 5, epoch: reply.epoch })
  const kept = await subscribe(await connect(t, built, token), 'tiny:x', { offset: 2, epoch: reply.epoch })
  t.same(kept.replay.map((m) => m.n), [3, 4, 5], 'from 2, all of 3..5 are kept')
  t.match(kept.reply, { recovered: true })

  // The in-process log is lost with the process: a restart starts a new epoch.
  await built.app.close()
  const again = await app(t, dir)
  const fresh = await subscribe(await connect(t, again, (await again.login()).access_token), 'tiny:x', { offset: 5, epoch: reply.epoch })
  t.same(fresh.replay, [])
  t.match(fresh.reply, { recovered: false, offset: 0 })
  t.not(fresh.reply.epoch, reply.epoch, 'a new epoch')
})

t.test('bad recover objects and channel names are error frames; the socket stays open', async (t) => {
  const built = await app(t)
  const socket = await connect(t, built, (await built.login()).access_token)
  const bad: unknown[] = [5, 'x', [], null, {}, { offset: -1, epoch: 'e' }, { offset: 1.5, epoch: 'e' }, { offset: 2 ** 60, epoch: 'e' }, { offset: 1, epoch: 7 }, { offset: 1, epoch: 'e'.repeat(65) }]
  for (const recover of bad) {
    socket.send({ type: 'subscribe', channel: 'chat:room', recover, requestId: 'r' })
    t.match(await socket.next(), { type: 'error', code: 'invalid_message', requestId: 'r' }, JSON.stringify(recover))
  }
  const huge = await subscribe(socket, 'room', { offset: Number.MAX_SAFE_INTEGER, epoch: 'nope' })
  t.match(huge.reply, { type: 'subscribed', recovered: false }, 'a huge offset in a wrong epoch is just not recovered')
  for (const channel of ['x'.repeat(129), 'bad channel', 'é', '']) {
    socket.send({ type: 'subscribe', channel })
    t.match(await socket.next(), { type: 'error', code: 'invalid_message' }, `channel ${JSON.stringify(channel).slice(0, 20)}`)
  }
  t.same(await socket.receivedBeforePong(), [], 'still open and answering')
})

t.test('presence and join/leave follow the sockets in a channel that turns them on', async (t) => {
  const built = await app(t)
  const token = (await built.login()).access_token
  const a = await connect(t, built, token)
  const b = await connect(t, built, token)
  await subscribe(a, 'chat:room')
  const joined = await subscribe(b, 'chat:room')
  t.match(joined.reply, { type: 'subscribed' })
  t.match(await a.nextOfType('join'), { type: 'join', channel: 'chat:room', user: 'user' }, 'a hears b join')
  a.send({ type: 'presence', channel: 'chat:room', requestId: 'p' })
  const presence = await a.nextOfType('presence')
  t.equal((presence.clients as Json[]).length, 2, 'both sockets are present')
  t.match(presence, { requestId: 'p' })
  b.close()
  t.match(await a.nextOfType('leave'), { type: 'leave', channel: 'chat:room', user: 'user' }, 'a hears b leave')
  a.send({ type: 'presence', channel: 'chat:room' })
  t.equal(((await a.nextOfType('presence')).clients as Json[]).length, 1)
  a.send({ type: 'presence', channel: 'room', requestId: 'off' })
  t.match(await a.next(), { type: 'error', code: 'forbidden', requestId: 'off' }, 'presence is off in the default namespace')
})

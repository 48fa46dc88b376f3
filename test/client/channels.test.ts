import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createUseChannel } from '../../src/client/react.js'
import { WsgateChannelError, WsgateClient, type WsgateClientOptions } from '../../src/client/index.js'
import { build, tempDir, testEnv, waitFor, type Built, type TestContext } from '../helper.js'
import { TestSocket } from '../ws-client.js'
import { ChannelEvents, HeldScheduler } from './channel-events.js'
import { Recorder } from './recorder.js'
import { renderWith } from './render-hook.js'

/**
 * Channels from the SDK's side, against a real app: recovery after a
 * reconnect, a failed recovery after the history was lost, presence with
 * join/leave, refusals, and useChannel.
 */

function track (t: TestContext, client: WsgateClient): WsgateClient {
  t.teardown(() => { client.disconnect() })
  return client
}

async function addUser (built: Built, username: string, roles: string[] = []): Promise<string> {
  await built.app.users.create({ username, passwordHash: await built.app.passwords.hash(`${username}-password`), roles })
  return (await built.login(username, `${username}-password`)).access_token
}

/** A raw socket in `channel` that publishes and waits for its own copy, so the message is certainly kept. */
async function publisher (built: Pick<Built, 'wsUrl' | 'login'>, channel: string, token?: string): Promise<{ say: (text: string) => Promise<void>, socket: TestSocket }> {
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token ?? (await built.login()).access_token}`)
  socket.send({ type: 'subscribe', channel })
  await socket.nextOfType('subscribed')
  return {
    socket,
    say: async (text) => {
      socket.send({ type: 'chat', channel, text })
      for (;;) if ((await socket.nextOfType('chat', 10_000)).text === text) return
    }
  }
}

function connect (t: TestContext, options: Omit<WsgateClientOptions, 'onStatus' | 'onMessage' | 'onClose'>): { client: WsgateClient, rec: Recorder } {
  const rec = new Recorder()
  const client = track(t, new WsgateClient({ ...rec.options, ...options }))
  client.connect()
  return { client, rec }
}

// One app with a namespace that has presence and join/leave; the restart test builds its own.
const channelsFile = join(tempDir(t), 'channels.json')
writeFileSync(channelsFile, JSON.stringify({
  namespaces: { chat: { subscribe: 'anyone', publish: 'subscribers', presence: true, joinLeave: true } }
}))
const built = await build(t, { CHANNELS_FILE: channelsFile })

t.test('after a forced reconnect, the missed messages arrive once each, in order', async (t) => {
  const token = await addUser(built, 'alice')
  // Every socket the client opens, so the test can cut one (1006, no close frame).
  const sockets: WebSocket[] = []
  class Tracked extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols)
      sockets.push(this)
    }
  }
  const held = new HeldScheduler()
  const events = new ChannelEvents()
  const rec = new Recorder()
  const client = track(t, new WsgateClient({ url: `${built.wsUrl}/ws`, token, ...rec.options, WebSocket: Tracked, schedule: held.schedule }))
  client.subscribe('recover-room', events)
  t.equal(client.channel('recover-room')?.status, 'subscribing', 'remembered before any socket exists')
  client.connect()
  await waitFor(() => events.subscribed.length === 1, 10_000, 'subscribed')
  t.match(events.subscribed[0], { channel: 'recover-room', status: 'subscribed', offset: 0, epoch: /^.+$/, recovered: undefined })
  const epoch = events.subscribed[0]?.epoch

  const pub = await publisher(built, 'recover-room')
  await pub.say('m1')
  await pub.say('m2')
  await waitFor(() => events.messages.length === 2, 10_000, 'm1, m2')
  t.match(client.channel('recover-room'), { offset: 2, epoch })

  sockets.at(-1)?.terminate()
  await rec.status('reconnecting')
  t.equal(held.waiting, 1, 'the reconnect waits for the test')
  t.equal(client.channel('recover-room')?.status, 'subscribing')
  for (const text of ['m3', 'm4', 'm5']) await pub.say(text)
  held.release()
  await waitFor(() => events.subscribed.length === 2, 10_000, 'subscribed again')
  t.match(events.subscribed[1], { status: 'subscribed', offset: 5, epoch, recovered: true })
  await pub.say('m6')
  await waitFor(() => events.messages.length >= 6, 10_000, 'm6')
  t.same(events.texts(), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'], 'every message once, in order')
  t.same(events.offsets(), [1, 2, 3, 4, 5, 6])
  t.same(events.recoveryFailed, [], 'nothing to reload')
  t.equal(rec.count('open'), 2)
  pub.socket.close()
})

t.test('recovered:false reaches the app when the server restarted and its epoch changed', async (t) => {
  const first = await build(t)
  const { access_token: token } = await first.login()
  const events = new ChannelEvents()
  const { client, rec } = connect(t, { url: `${first.wsUrl}/ws`, token, backoff: { baseMs: 50, maxMs: 200 } })
  client.subscribe('restart-room', events)
  await waitFor(() => events.subscribed.length === 1, 10_000, 'subscribed')
  const pub = await publisher(first, 'restart-room')
  await pub.say('before')
  await waitFor(() => events.messages.length === 1, 10_000, 'before')
  const before = events.subscribed[0]?.epoch

  await first.app.close()
  await rec.status('reconnecting')
  // Same database and port, a new process's memory: the channel's history is gone.
  const again = await buildApp(loadConfig(testEnv(first.dir)))
  t.teardown(async () => { await again.close() })
  await again.listen({ host: '127.0.0.1', port: Number(new URL(first.url).port) })
  await waitFor(() => events.recoveryFailed.length === 1, 10_000, 'recovery failed')
  const after = events.subscribed[1]
  t.match(after, { status: 'subscribed', recovered: false, offset: 0 })
  t.not(after?.epoch, before, 'a new epoch')
  t.same(events.recoveryFailed, [after], 'the app is told to reload')
  t.match(client.channel('restart-room'), { status: 'subscribed', offset: 0 })

  // Offsets start over in the new epoch: offset 1 is new, not a duplicate of the old 1.
  // The same token: the session is in the database the new process opened.
  const pub2 = await publisher(first, 'restart-room', token)
  await pub2.say('after')
  await waitFor(() => events.messages.length === 2, 10_000, 'after')
  t.same(events.texts(), ['before', 'after'])
  t.same(events.offsets(), [1, 1])
  pub2.socket.close()
})

t.test('presence lists the sockets in a channel; join and leave are reported', async (t) => {
  const alice = connect(t, { url: `${built.wsUrl}/ws`, token: await addUser(built, 'anna') })
  const bob = connect(t, { url: `${built.wsUrl}/ws`, token: await addUser(built, 'bert') })
  await alice.rec.status('open')
  await bob.rec.status('open')
  const seen = new ChannelEvents()
  alice.client.subscribe('chat:lobby', seen)
  await waitFor(() => seen.subscribed.length === 1, 10_000, 'anna subscribed')
  bob.client.subscribe('chat:lobby', new ChannelEvents())
  await waitFor(() => seen.joins.some((m) => m.user === 'bert'), 10_000, 'bert joins')
  t.same(seen.joins.find((m) => m.user === 'bert'), { user: 'bert', connectionId: bob.client.connectionId })

  const members = await alice.client.presence('chat:lobby')
  t.same(members.sort((a, b) => a.user.localeCompare(b.user)), [
    { user: 'anna', connectionId: alice.client.connectionId },
    { user: 'bert', connectionId: bob.client.connectionId }
  ])

  bob.client.unsubscribe('chat:lobby')
  await waitFor(() => seen.leaves.length === 1, 10_000, 'bert leaves')
  t.same(seen.leaves, [{ user: 'bert', connectionId: bob.client.connectionId }])
  t.same(await alice.client.presence('chat:lobby'), [{ user: 'anna', connectionId: alice.client.connectionId }])

  const refused = await alice.client.presence('no-presence-here').catch((err: unknown) => err)
  t.ok(refused instanceof WsgateChannelError, 'a namespace without presence refuses')
  t.match(refused, { code: 'forbidden', channel: 'no-presence-here' })
  alice.client.disconnect()
  t.match(await alice.client.presence('chat:lobby').catch((err: unknown) => err), { code: 'not_connected' })
})

t.test('a forbidden subscribe is reported and forgotten; the socket stays usable', async (t) => {
  const { client, rec } = connect(t, { url: `${built.wsUrl}/ws`, token: await addUser(built, 'carl') })
  await rec.status('open')
  const admin = new ChannelEvents()
  const other = new ChannelEvents()
  const own = new ChannelEvents()
  client.subscribe('admin:ops', admin)
  client.subscribe('user:someone-else', other)
  client.subscribe('user:carl', own)
  await waitFor(() => admin.removed.length === 1 && other.removed.length === 1 && own.subscribed.length === 1, 10_000, 'replies')
  t.match(admin.removed, [{ channel: 'admin:ops', reason: 'forbidden', message: /.+/ }])
  t.match(other.removed, [{ channel: 'user:someone-else', reason: 'forbidden' }])
  t.same(own.removed, [], 'a user\'s own channel is allowed')
  t.same(client.channels().map((c) => c.channel).sort(), ['user:carl'], 'refused channels are forgotten')
  t.equal(client.status, 'open')
  t.throws(() => client.subscribe('bad channel!'), TypeError, 'a name the server would refuse fails at once')
})

t.test('a server-side unsubscribe (role lost) is reported and the channel is not rejoined', async (t) => {
  const { client, rec } = connect(t, { url: `${built.wsUrl}/ws`, token: await addUser(built, 'dora', ['admin']) })
  await rec.status('open')
  const events = new ChannelEvents()
  client.subscribe('admin:ops', events)
  await waitFor(() => events.subscribed.length === 1, 10_000, 'subscribed')
  await built.app.users.setRoles('dora', [])
  // An in-band refresh re-reads the roles; the server then removes the socket from the channel.
  client.send({ type: 'refresh', token: (await built.login('dora', 'dora-password')).access_token })
  await waitFor(() => events.removed.length === 1, 10_000, 'removed')
  t.same(events.removed, [{ channel: 'admin:ops', reason: 'forbidden' }])
  t.equal(client.channel('admin:ops'), undefined)
})

t.test('useChannel follows a channel while mounted, keeps a bounded list, leaves on unmount', async (t) => {
  const { client, rec } = connect(t, { url: `${built.wsUrl}/ws`, token: await addUser(built, 'hooked') })
  await rec.status('open')
  const hook = renderWith((react) => {
    const useChannel = createUseChannel(react)
    return (props: { channel: string }) => useChannel(client, props.channel, { maxMessages: 2 })
  }, { channel: 'hook-room' })
  t.teardown(() => { hook.unmount() })
  await waitFor(() => hook.result().state?.status === 'subscribed', 10_000, 'subscribed')
  const pub = await publisher(built, 'hook-room')
  for (const text of ['a', 'b', 'c']) await pub.say(text)
  await waitFor(() => hook.result().messages.at(-1)?.text === 'c', 10_000, 'c')
  t.same(hook.result().messages.map((m) => m.text), ['b', 'c'], 'capped at maxMessages')
  t.match(hook.result(), { state: { channel: 'hook-room', offset: 3 }, recoveryFailures: 0, removed: undefined })
  hook.unmount()
  t.equal(client.channel('hook-room'), undefined, 'the client forgot the channel')
  // The server answers in order: the status after the unsubscribe no longer lists the channel.
  client.getStatus()
  const status = await rec.message((m) => m.type === 'status')
  const names = (Array.isArray(status.channels) ? status.channels : []).map((c: unknown) => typeof c === 'string' ? c : (c as { channel?: unknown }).channel)
  t.notOk(names.includes('hook-room'), 'the socket left the channel')
  t.ok(names.includes('global'))
  pub.socket.close()
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { call, loginAdmin } from '../admin/admin.js'
import { childEnv, compiled } from '../cli.js'
import { build, tempDir, testEnv, type Built } from '../helper.js'
import { runToEnd } from '../scripts/child.js'
import { TestSocket, type Json } from '../ws-client.js'

// Channel permissions end to end, over real sockets and routes: the matrix of
// owner, other user, admin and server publish for global, user:<name>,
// admin:* and a namespace from CHANNELS_FILE (news: role staff subscribes,
// only the server publishes); refusals as forbidden error frames on a socket
// that stays open; the re-checks after an in-band refresh and after an admin
// changes a user's roles; a bad file stopping the start.

const CHANNELS_YAML = `namespaces:
  news:
    subscribe: role:staff
    publish: server
`

function channelsFile (t: Parameters<typeof tempDir>[0], text = CHANNELS_YAML, name = 'channels.yaml'): string {
  const path = join(tempDir(t), name)
  writeFileSync(path, text)
  return path
}

interface World {
  readonly built: Built
  readonly tokens: Record<'alice' | 'bob' | 'sam' | 'root', string>
}

async function world (t: Parameters<typeof tempDir>[0]): Promise<World> {
  const built = await build(t, { CHANNELS_FILE: channelsFile(t) })
  const root = await loginAdmin(built)
  const add = async (username: string, roles: string[]): Promise<string> => {
    await built.app.users.create({ username, passwordHash: await built.app.passwords.hash(`${username}-password`), roles })
    return (await built.login(username, `${username}-password`)).access_token
  }
  return { built, tokens: { root, alice: await add('alice', []), bob: await add('bob', []), sam: await add('sam', ['staff']) } }
}

async function connect (built: Built, token: string, t: Parameters<typeof tempDir>[0], path = '/ws'): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${built.wsUrl}${path}?token=${token}`)
  t.teardown(() => { socket.close() })
  return socket
}

/** Sends a message and returns the first answer to it (error or the expected type). */
async function ask (socket: TestSocket, message: Json): Promise<Json> {
  socket.send(message)
  return await socket.next()
}

async function subscribe (socket: TestSocket, channel: string): Promise<Json> {
  return await ask(socket, { type: 'subscribe', channel, requestId: `sub-${channel}` })
}

/** The socket is open and answering: nothing but a pong comes back to a ping, and nothing came before it. */
async function stillOpen (socket: TestSocket): Promise<Json[]> {
  return await socket.receivedBeforePong()
}

async function post (built: Built, token: string, payload: Json): Promise<{ status: number, body: Json }> {
  const res = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload })
  return { status: res.statusCode, body: res.json<Json>() }
}

const forbidden = (requestId?: string): Json => ({ type: 'error', code: 'forbidden', ...(requestId !== undefined ? { requestId } : {}) })

t.test('subscribe: the matrix for global, user:<name>, admin:* and a file namespace; refusals keep the socket open', async (t) => {
  const { built, tokens } = await world(t)
  const alice = await connect(built, tokens.alice, t)
  const root = await connect(built, tokens.root, t)
  const sam = await connect(built, tokens.sam, t)

  t.match(await subscribe(alice, 'global'), { type: 'subscribed', channel: 'global', offset: Number, epoch: String })
  t.match(await subscribe(alice, 'user:alice'), { type: 'subscribed', channel: 'user:alice', offset: Number, epoch: String }, 'the owner')
  t.match(await subscribe(alice, 'room'), { type: 'subscribed', channel: 'room', offset: Number, epoch: String }, 'bare names stay open')
  t.match(await subscribe(alice, 'user:bob'), { ...forbidden('sub-user:bob'), message: 'Only bob may subscribe to "user:bob"' }, 'another user\'s personal channel')
  t.match(await subscribe(alice, 'admin:ops'), forbidden('sub-admin:ops'), 'admin:* without role admin')
  t.match(await subscribe(alice, 'news:today'), { ...forbidden('sub-news:today'), message: 'Channels of namespace "news" need role staff to subscribe' })
  t.match(await subscribe(alice, 'chat:lobby'), { ...forbidden('sub-chat:lobby'), message: 'No namespace "chat" is configured' }, 'a namespace the file does not declare')
  t.same(await stillOpen(alice), [], 'after five refusals alice still gets her pong')

  t.match(await subscribe(root, 'admin:ops'), { type: 'subscribed', channel: 'admin:ops', offset: Number, epoch: String })
  t.match(await subscribe(root, 'user:alice'), forbidden('sub-user:alice'), 'an admin does not read a personal channel')
  t.match(await subscribe(root, 'news:today'), forbidden('sub-news:today'), 'nor a role channel without the role')
  t.match(await subscribe(sam, 'news:today'), { type: 'subscribed', channel: 'news:today', offset: Number, epoch: String }, 'role staff reads news')
  t.same(await stillOpen(root), [])

  const status = await ask(alice, { type: 'get_status' })
  t.same((status.channels as Array<{ channel: string }>).map((c) => c.channel).sort(), ['global', 'room', 'user:alice'], 'refused channels were not joined')
})

t.test('publish over the socket and POST /messages: owner, other user, admin and server', async (t) => {
  const { built, tokens } = await world(t)
  const alice = await connect(built, tokens.alice, t)
  const bob = await connect(built, tokens.bob, t)
  const root = await connect(built, tokens.root, t)
  const sam = await connect(built, tokens.sam, t)
  await subscribe(alice, 'user:alice')
  await subscribe(root, 'admin:ops')
  await subscribe(sam, 'news:today')

  // user:alice — the owner and admins publish, from a socket or over REST; nobody else.
  alice.send({ type: 'note', channel: 'user:alice', n: 1 })
  t.match(await alice.next(), { type: 'note', channel: 'user:alice', n: 1, user: 'alice' }, 'owner, socket')
  t.match(await ask(bob, { type: 'note', channel: 'user:alice', requestId: 'b1' }), { ...forbidden('b1'), message: 'Only alice and admins may publish to "user:alice"' }, 'other user, socket')
  root.send({ type: 'note', channel: 'user:alice', n: 2 })
  t.match(await alice.next(), { type: 'note', n: 2, user: 'root' }, 'admin, socket, without being subscribed')
  t.equal((await post(built, tokens.alice, { type: 'note', channel: 'user:alice', n: 3 })).status, 202, 'owner, REST')
  t.match(await alice.next(), { n: 3, user: 'alice' })
  const bobPost = await post(built, tokens.bob, { type: 'note', channel: 'user:alice' })
  t.same(bobPost, { status: 403, body: { error: 'insufficient_scope', error_description: 'Only alice and admins may publish to "user:alice"', detail: 'Only alice and admins may publish to "user:alice"' } }, 'other user, REST')
  t.equal((await post(built, tokens.root, { type: 'note', channel: 'user:alice', n: 4 })).status, 202, 'admin, REST')
  t.match(await alice.next(), { n: 4, user: 'root' })

  // admin:ops — role admin only, both ways.
  t.match(await ask(alice, { type: 'note', channel: 'admin:ops', requestId: 'a1' }), forbidden('a1'), 'non-admin, socket')
  t.equal((await post(built, tokens.alice, { type: 'note', channel: 'admin:ops' })).status, 403, 'non-admin, REST')
  root.send({ type: 'note', channel: 'admin:ops', n: 5 })
  t.match(await root.next(), { channel: 'admin:ops', n: 5 }, 'admin, socket')
  t.equal((await post(built, tokens.root, { type: 'note', channel: 'admin:ops', n: 6 })).status, 202, 'admin, REST')
  t.match(await root.next(), { n: 6 })

  // news:* — staff reads, only the server (an admin's POST /messages) writes.
  t.match(await ask(sam, { type: 'note', channel: 'news:today', requestId: 's1' }), forbidden('s1'), 'a subscriber may not publish from its socket')
  t.equal((await post(built, tokens.sam, { type: 'note', channel: 'news:today' })).status, 403, 'nor over REST without role admin')
  t.equal((await post(built, tokens.root, { type: 'headline', channel: 'news:today' })).status, 202, 'an admin publishes as the server')
  t.match(await sam.next(), { type: 'headline', channel: 'news:today', user: 'root' })

  // global — everyone, as before.
  t.equal((await post(built, tokens.bob, { type: 'hello' })).status, 202, 'any user, REST, no channel = global')
  for (const socket of [alice, bob, root, sam]) t.match(await socket.next(), { type: 'hello', user: 'bob' })

  for (const socket of [alice, bob, sam]) t.same(await stillOpen(socket), [], 'every refused socket is open and got nothing it may not read')
})

t.test('admin broadcast is a server publish; a channel no namespace covers is refused', async (t) => {
  const { built, tokens } = await world(t)
  const sam = await connect(built, tokens.sam, t)
  await subscribe(sam, 'news:today')
  const admin = await connect(built, tokens.root, t, '/admin/ws')
  await admin.nextOfType('stats_update')
  admin.send({ type: 'admin_command', command: 'broadcast', channel: 'news:today', message: 'read all about it', requestId: 'bc1' })
  t.match(await admin.nextOfType('admin_command_result'), { command: 'broadcast', ok: true, requestId: 'bc1' })
  t.match(await sam.next(), { type: 'system', message: 'read all about it', user: 'system' })
  admin.send({ type: 'admin_command', command: 'broadcast', channel: 'chat:lobby', message: 'x', requestId: 'bc2' })
  t.match(await admin.nextOfType('error'), { ...forbidden('bc2'), message: 'No namespace "chat" is configured' })
  admin.send({ type: 'ping' })
  t.match(await admin.nextOfType('pong'), { type: 'pong' }, 'the admin socket stays open')
})

t.test('bad channel names get invalid_message error frames; the socket stays open', async (t) => {
  const { built, tokens } = await world(t)
  const alice = await connect(built, tokens.alice, t)
  for (const channel of ['x'.repeat(129), 'bad channel', 'caf\u00e9', '$admin', '', 42]) {
    t.match(await ask(alice, { type: 'subscribe', channel, requestId: 'r' }), { type: 'error', code: 'invalid_message', requestId: 'r' }, `subscribe ${JSON.stringify(channel).slice(0, 20)}`)
    t.match(await ask(alice, { type: 'note', channel, requestId: 'p' }), { type: 'error', code: 'invalid_message', requestId: 'p' }, `publish to ${JSON.stringify(channel).slice(0, 20)}`)
  }
  t.match(await subscribe(alice, 'x'.repeat(128)), { type: 'subscribed', channel: 'x'.repeat(128), offset: Number, epoch: String }, '128 characters is the limit, not past it')
  t.same(await stillOpen(alice), [])
})

t.test('an in-band refresh whose token lacks a role leaves the channels that role allowed', async (t) => {
  const { built, tokens } = await world(t)
  await built.app.users.create({ username: 'carol', passwordHash: await built.app.passwords.hash('carol-password'), roles: ['admin', 'staff'] })
  const carol = await connect(built, (await built.login('carol', 'carol-password')).access_token, t)
  for (const channel of ['admin:ops', 'news:today', 'room']) t.match(await subscribe(carol, channel), { type: 'subscribed' })
  // Straight in the store: no broker event, so only the refresh can tell the socket.
  await built.app.users.setRoles('carol', ['staff'])
  t.same(await stillOpen(carol), [], 'nothing changes before the refresh')
  const fresh = (await built.login('carol', 'carol-password')).access_token
  carol.send({ type: 'refresh', token: fresh, requestId: 'rf' })
  t.same(await carol.next(), { type: 'unsubscribed', channel: 'admin:ops', reason: 'forbidden' })
  t.match(await carol.next(), { type: 'refreshed', requestId: 'rf' })
  const status = await ask(carol, { type: 'get_status' })
  t.same(status.roles, ['staff'])
  t.same((status.channels as Array<{ channel: string }>).map((c) => c.channel).sort(), ['global', 'news:today', 'room'], 'channels staff still allows are kept')
  t.equal((await post(built, tokens.root, { type: 'secret', channel: 'admin:ops' })).status, 202)
  t.same(await stillOpen(carol), [], 'admin:ops no longer reaches carol')
  t.match(await subscribe(carol, 'admin:ops'), forbidden('sub-admin:ops'))
})

t.test('roles changed through the admin REST route apply to open sockets at once', async (t) => {
  const { built, tokens } = await world(t)
  await built.app.users.create({ username: 'dave', passwordHash: await built.app.passwords.hash('dave-password'), roles: ['admin', 'staff'] })
  const daveToken = (await built.login('dave', 'dave-password')).access_token
  const phone = await connect(built, daveToken, t)
  const laptop = await connect(built, daveToken, t)
  for (const channel of ['admin:ops', 'news:today', 'room']) t.match(await subscribe(phone, channel), { type: 'subscribed' })
  t.match(await subscribe(laptop, 'admin:ops'), { type: 'subscribed' })
  const other = await connect(built, tokens.root, t)
  t.match(await subscribe(other, 'admin:ops'), { type: 'subscribed' })

  const res = await call(built, tokens.root, { method: 'PUT', url: '/admin/users/dave/roles', payload: { roles: ['staff'] } })
  t.equal(res.statusCode, 200, res.body)
  // The broker delivers in-process before the route answers: the frames are already on their way.
  t.same(await phone.next(), { type: 'unsubscribed', channel: 'admin:ops', reason: 'forbidden' }, 'the phone leaves admin:ops')
  t.same(await laptop.next(), { type: 'unsubscribed', channel: 'admin:ops', reason: 'forbidden' }, 'so does the laptop')
  t.same(await stillOpen(phone), [], 'news:today and room stay: staff still allows them')
  t.same(await stillOpen(other), [], 'another admin\'s socket is untouched')
  const status = await ask(phone, { type: 'get_status' })
  t.same(status.roles, ['staff'])
  t.same((status.channels as Array<{ channel: string }>).map((c) => c.channel).sort(), ['global', 'news:today', 'room'])
  t.match(await subscribe(phone, 'admin:ops'), forbidden('sub-admin:ops'), 'and may not come back')

  t.equal((await call(built, tokens.root, { method: 'PUT', url: '/admin/users/dave/roles', payload: { roles: [] } })).statusCode, 200)
  t.same(await phone.next(), { type: 'unsubscribed', channel: 'news:today', reason: 'forbidden' })
  t.equal((await call(built, tokens.root, { method: 'PUT', url: '/admin/users/dave/roles', payload: { roles: ['admin'] } })).statusCode, 200)
  t.same(await stillOpen(phone), [], 'a role granted leaves nothing')
  t.match(await subscribe(phone, 'admin:ops'), { type: 'subscribed', channel: 'admin:ops', offset: Number, epoch: String }, 'a role granted applies at once too')
})

t.test('a bad CHANNELS_FILE stops the start with one clear line', async (t) => {
  const bad = channelsFile(t, 'namespaces:\n  user: {}\n  news:\n    publish: editors\n', 'bad.yaml')
  const expected = `Invalid CHANNELS_FILE ${bad}: namespaces.user: "user" is built in and cannot be configured (reserved: global, user, admin); namespaces.news.publish must be subscribers, anyone, server or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got "editors")`
  await t.rejects(build(t, { CHANNELS_FILE: bad }), { name: 'ChannelsFileError', message: expected }, 'buildApp fails')

  const dir = tempDir(t)
  const exit = await runToEnd(compiled('dist/src/server.js'), { cwd: dir, env: childEnv({ ...testEnv(dir), HOST: '127.0.0.1', PORT: '0', CHANNELS_FILE: bad }) })
  t.equal(exit.code, 1, 'the compiled server exits 1')
  t.equal(exit.stderr, `${expected}\n`, 'with that one line on stderr')
})

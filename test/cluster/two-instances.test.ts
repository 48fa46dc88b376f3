import t from 'tap'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { until } from '../broker/fixtures.js'
import { ADMIN_PIN, cluster, login, type Instance } from './cluster.js'

// Two compiled servers, A and B, on one Postgres database and one Redis
// prefix. Everything a client or an admin does on one instance must take
// effect on the other: the contract of running N instances behind a load
// balancer. Started together on an empty database, so the migrations and the
// demo account race as they do in a real rollout.

const SESSION_REVOKED = { code: 1008, reason: 'Session revoked' }
const c = await cluster(t, { env: { LOGIN_FREE_FAILURES: '3', WS_MAX_CONNECTIONS_PER_USER: '3' } })
const [a, b] = await Promise.all([c.start('A'), c.start('B')])

async function connect (instance: Instance, token: string): Promise<TestSocket> {
  return await TestSocket.connect(`${instance.wsUrl}/ws?token=${token}`)
}

/** Messages of `type` with `text` that arrive on `socket` before the one whose text is `marker`. */
async function countBefore (socket: TestSocket, text: string, marker: string): Promise<number> {
  const before = await socket.until((m) => m.text === marker)
  return before.filter((m: Json) => m.type === 'chat' && m.text === text).length
}

t.test('both instances started on the empty database and share it', async (t) => {
  const [ra, rb] = await Promise.all([fetch(`${a.url}/ready`), fetch(`${b.url}/ready`)])
  t.equal(ra.status, 200)
  t.match(await ra.json(), { status: 'ready', broker: 'redis' })
  t.equal(rb.status, 200)
})

t.test('a message sent on A reaches every socket on A and B exactly once', async (t) => {
  const { access_token: token } = await login(a, 'user', 'password')
  const [a1, a2, b1] = await Promise.all([connect(a, token), connect(a, token), connect(b, token)])
  t.teardown(() => { for (const s of [a1, a2, b1]) s.close() })
  a1.send({ type: 'chat', text: 'one' })
  t.match(await b1.nextOfType('chat'), { type: 'chat', text: 'one', user: 'user' }, 'B got it, stamped')
  // Each next message is sent only after the previous one was seen across
  // Redis, and Redis hands each subscriber its messages in order: a copy of
  // an earlier message, an echo included, would arrive before the marker.
  b1.send({ type: 'chat', text: 'two' })
  for (const [name, socket] of [['a1', a1], ['a2', a2]] as const) {
    t.equal(await countBefore(socket, 'one', 'two'), 1, `${name} got "one" once, then "two"`)
  }
  t.equal(await countBefore(b1, 'one', 'two'), 0, 'b1 got "one" once, then its own "two"')
  a1.send({ type: 'chat', text: 'three' })
  for (const [name, socket] of [['a1', a1], ['a2', a2], ['b1', b1]] as const) {
    t.equal(await countBefore(socket, 'two', 'three'), 0, `${name} got "two" once, then "three"`)
  }
})

t.test('a token issued by A works on B, and A\'s refresh token refreshes on B', async (t) => {
  const tokens = await login(a, 'user', 'password')
  const me = await fetch(`${b.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(me.status, 200)
  const refreshed = await fetch(`${b.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
  })
  t.equal(refreshed.status, 200)
  const socket = await connect(b, tokens.access_token)
  socket.close()
})

t.test('a revocation on A closes the session\'s socket on B within a second', async (t) => {
  const tokens = await login(a, 'user', 'password')
  const onB = await connect(b, tokens.access_token)
  const revoked = await fetch(`${a.url}/token/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.refresh_token })
  })
  t.equal(revoked.status, 200)
  t.same(await closedWithin(onB, 1000), SESSION_REVOKED)
})

t.test('a kick on A closes the user\'s sockets on B; a CLI disable closes them everywhere', async (t) => {
  t.equal((await c.users(['add', 'kim'], 'kim-password\n')).code, 0, 'kim added with the CLI')
  const admin = await connect(a, (await login(a, 'user', 'password')).access_token)
  t.teardown(() => { admin.close() })
  admin.send({ type: 'admin_auth', token: ADMIN_PIN })
  t.match(await admin.nextOfType('admin_auth_response'), { success: true })
  const kimOnB = await connect(b, (await login(b, 'kim', 'kim-password')).access_token)
  admin.send({ type: 'admin_command', command: 'kick', user: 'kim' })
  t.match(await admin.nextOfType('admin_command_result'), { command: 'kick', ok: true })
  t.same(await closedWithin(kimOnB, 1000), SESSION_REVOKED, 'kicked on B')

  const token = (await login(b, 'kim', 'kim-password')).access_token
  const [onA, onB] = await Promise.all([connect(a, token), connect(b, token)])
  const disabled = await c.users(['disable', 'kim'])
  t.equal(disabled.code, 0, disabled.stderr)
  t.same(await closedWithin(onA, 1000), SESSION_REVOKED, 'the CLI\'s disable reached A through Redis')
  t.same(await closedWithin(onB, 1000), SESSION_REVOKED, 'and B')
})

t.test('the per-user connection limit counts sockets on both instances', async (t) => {
  t.equal((await c.users(['add', 'lim'], 'lim-password\n')).code, 0)
  const token = (await login(a, 'lim', 'lim-password')).access_token
  const open = [await connect(a, token), await connect(b, token), await connect(a, token)]
  t.teardown(() => { for (const s of open) s.close() })
  const fourth = await TestSocket.open(`${b.wsUrl}/ws?token=${token}`)
  t.same(await closedWithin(fourth), { code: 1013, reason: 'Too many connections' }, 'the fourth, on B, is refused')
  open.pop()?.close()
  await until('a slot freed on A is usable on B', async () => {
    const again = await TestSocket.open(`${b.wsUrl}/ws?token=${token}`)
    const first = await Promise.race([again.next(), again.closed])
    if ('type' in first && first.type === 'connection_established') {
      open.push(again)
      return true
    }
    return false
  })
  t.pass('a closed socket gives its slot back across instances')
})

t.test('login backoff counts failures made on either instance', async (t) => {
  t.equal((await c.users(['add', 'bo'], 'bo-password\n')).code, 0)
  const attempt = async (instance: Instance): Promise<number> => {
    const res = await fetch(`${instance.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bo', password: 'wrong' }) })
    return res.status
  }
  // Wrong passwords, alternately on A and B, until one is refused unchecked.
  // Three failures are free and each further one doubles the wait from 1 s.
  // Counted together, the fifth attempt (or, on a machine stalled past the
  // wait, the sixth) is refused; counted apart, each instance would need four
  // failures of its own, so none before the ninth.
  const statuses: number[] = []
  for (let i = 0; i < 10 && !statuses.includes(429); i++) statuses.push(await attempt(i % 2 === 0 ? a : b))
  t.same(statuses.slice(0, 4), [401, 401, 401, 401], 'the first four are checked')
  const refused = statuses.indexOf(429) + 1
  t.ok(refused >= 5 && refused <= 6, `refused at attempt ${refused} (${statuses.join(', ')})`)
})

t.test('admin stats list both instances and their total', async (t) => {
  t.equal((await c.users(['add', 'root', '--role', 'admin'], 'root-password\n')).code, 0)
  const token = (await login(b, 'root', 'root-password')).access_token
  const holdA = await connect(a, token)
  t.teardown(() => { holdA.close() })
  await until('/admin/stats on B shows A and B', async () => {
    const res = await fetch(`${b.url}/admin/stats`, { headers: { authorization: `Bearer ${token}` } })
    const body = await res.json() as { instances?: Array<{ instanceId: string, connections: number }>, total?: { connections: number } }
    const instances = body.instances ?? []
    return res.status === 200 && instances.length === 2 && (body.total?.connections ?? 0) >= 1
  })
  const admin = await TestSocket.connect(`${a.wsUrl}/admin/ws?token=${token}`)
  t.teardown(() => { admin.close() })
  const update = await admin.nextOfType('stats_update', 5000)
  t.ok(Array.isArray(update.instances), 'stats_update carries the instance rows')
})

t.test('killing A leaves B serving', async (t) => {
  const token = (await login(b, 'user', 'password')).access_token
  const onB = await connect(b, token)
  a.child.process.kill('SIGKILL')
  await a.child.closed()
  onB.send({ type: 'chat', text: 'still here' })
  t.match(await onB.nextOfType('chat'), { text: 'still here' })
  const fresh = await connect(b, (await login(b, 'user', 'password')).access_token)
  fresh.close()
  onB.close()
  t.equal((await fetch(`${b.url}/ready`)).status, 200)
})

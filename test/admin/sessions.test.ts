import t from 'tap'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { freshPostgres } from '../services.js'
import { adminActions, auditMark, call, loginAdmin, loginRoot } from './admin.js'

// One app for the file and one admin, root; each test works on users of its own.
const built = await build(t)
const token = await loginAdmin(built)

async function createUser (name: string): Promise<void> {
  const res = await call(built, token, { method: 'POST', url: '/admin/users', payload: { username: name, password: `${name}-password` } })
  if (res.statusCode !== 201) throw new Error(`create ${name}: ${res.statusCode} ${res.body}`)
}

function sidOf (accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }
  return payload.sid
}

interface Listed { id: string, createdAt: string, expiresAt: string }

async function listed (name: string): Promise<Listed[]> {
  const res = await call(built, token, { method: 'GET', url: `/admin/users/${name}/sessions` })
  if (res.statusCode !== 200) throw new Error(`list ${name}: ${res.statusCode} ${res.body}`)
  return res.json<{ sessions: Listed[] }>().sessions
}

t.test('session routes: 401 without a token, 403 without the admin role', async (t) => {
  const userToken = (await built.login()).access_token
  for (const route of [{ method: 'GET', url: '/admin/users/user/sessions' }, { method: 'DELETE', url: '/admin/users/user/sessions/x' }] as const) {
    t.equal((await call(built, undefined, route)).statusCode, 401, `${route.method} ${route.url} without a token`)
    const refused = await call(built, userToken, route)
    t.equal(refused.statusCode, 403, `${route.method} ${route.url} as a non-admin`)
  }
})

t.test('list: live sessions only, ids and times, no token material', async (t) => {
  await createUser('sam')
  t.same(await listed('sam'), [], 'none before a login')
  const first = await built.login('sam', 'sam-password')
  const second = await built.login('sam', 'sam-password')
  await built.app.sessions.revokeSession(sidOf(first.access_token), 'test')
  const sessions = await listed('sam')
  t.same(sessions.map((s) => s.id), [sidOf(second.access_token)], 'the revoked one is gone')
  t.same(Object.keys(sessions[0] ?? {}).sort(), ['createdAt', 'expiresAt', 'id'])
  t.ok(Date.parse(sessions[0]?.expiresAt ?? '') > Date.now(), 'expires in the future')
  const body = (await call(built, token, { method: 'GET', url: '/admin/users/sam/sessions' })).body
  t.notOk(body.includes(second.refresh_token ?? '-'), 'no refresh token in the body')
  const unknown = await call(built, token, { method: 'GET', url: '/admin/users/nobody/sessions' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { error: 'not_found', detail: 'No user named "nobody"' })
})

t.test('revoke: that session ends, its socket closes, the others live; audited', async (t) => {
  await createUser('rita')
  const kept = await built.login('rita', 'rita-password')
  const ended = await built.login('rita', 'rita-password')
  const keptSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${kept.access_token}`)
  const endedSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${ended.access_token}`)
  t.teardown(() => { keptSocket.close(); endedSocket.close() })
  const mark = await auditMark(built)
  const sid = sidOf(ended.access_token)
  const res = await call(built, token, { method: 'DELETE', url: `/admin/users/rita/sessions/${sid}` })
  t.equal(res.statusCode, 204)
  t.same(await closedWithin(endedSocket, 5000), { code: 1008, reason: 'Session revoked' }, 'its socket closes at once')
  t.same((await listed('rita')).map((s) => s.id), [sidOf(kept.access_token)])
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: ended.refresh_token } })
  t.equal(refresh.statusCode, 400, 'its refresh token no longer works')
  keptSocket.send({ type: 'ping' })
  t.ok(await keptSocket.nextOfType('pong'), 'the other session\'s socket is still open')

  // Again, or under another user's name: 404, nothing revoked.
  const again = await call(built, token, { method: 'DELETE', url: `/admin/users/rita/sessions/${sid}` })
  t.equal(again.statusCode, 404)
  const keptSid = sidOf(kept.access_token)
  t.equal((await call(built, token, { method: 'DELETE', url: `/admin/users/user/sessions/${keptSid}` })).statusCode, 404, 'not a session of that user')
  t.equal((await listed('rita')).length, 1, 'still live')
  const rows = await adminActions(built, mark)
  t.match(rows, [
    { username: 'root', ip: '127.0.0.1', outcome: 'success', reason: `revoke session ${sid} of rita` },
    { outcome: 'failure', reason: `revoke session ${sid} of rita: "rita" has no live session ${sid}` },
    { outcome: 'failure', reason: `revoke session ${keptSid} of user: "user" has no live session ${keptSid}` }
  ])
})

t.test('GET /admin/audit filters by ip', async (t) => {
  await built.app.auditLog.flush()
  const res = await call(built, token, { method: 'GET', url: '/admin/audit?ip=127.0.0.1&limit=5' })
  t.equal(res.statusCode, 200)
  const items = res.json<{ items: Array<{ ip: string }> }>().items
  t.ok(items.length > 0)
  t.ok(items.every((item) => item.ip === '127.0.0.1'))
  const none = await call(built, token, { method: 'GET', url: '/admin/audit?ip=10.9.9.9' })
  t.same(none.json(), { items: [], next: null })
})

t.test('on Postgres: the same list, revoke and ip filter', async (t) => {
  const pg = await build(t, { DATABASE_URL: await freshPostgres(t) })
  const pgToken = await loginAdmin(pg)
  const own = (await call(pg, pgToken, { method: 'GET', url: '/admin/users/root/sessions' })).json<{ sessions: Listed[] }>().sessions
  t.same(own.map((s) => s.id), [sidOf(pgToken)], 'root\'s one login')
  const second = await loginRoot(pg)
  const both = (await call(pg, pgToken, { method: 'GET', url: '/admin/users/root/sessions' })).json<{ sessions: Listed[] }>().sessions
  t.same(new Set(both.map((s) => s.id)), new Set([sidOf(pgToken), sidOf(second)]))
  t.equal((await call(pg, pgToken, { method: 'DELETE', url: `/admin/users/root/sessions/${sidOf(second)}` })).statusCode, 204)
  const after = (await call(pg, pgToken, { method: 'GET', url: '/admin/users/root/sessions' })).json<{ sessions: Listed[] }>().sessions
  t.same(after.map((s) => s.id), [sidOf(pgToken)])
  await pg.app.auditLog.flush()
  const byIp = (await call(pg, pgToken, { method: 'GET', url: '/admin/audit?ip=127.0.0.1&kind=admin_action' })).json<{ items: Array<{ ip: string, reason: string }> }>().items
  t.match(byIp, [{ ip: '127.0.0.1', reason: `revoke session ${sidOf(second)} of root` }])
  t.same((await call(pg, pgToken, { method: 'GET', url: '/admin/audit?ip=10.9.9.9' })).json(), { items: [], next: null })
})

import t from 'tap'
import { build, type Built } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { ROOT, adminActions, auditMark, call, loginAdmin } from './admin.js'

const ROUTES = [
  { method: 'GET', url: '/admin/users' },
  { method: 'POST', url: '/admin/users', payload: { username: 'x', password: 'y' } },
  { method: 'POST', url: '/admin/users/user/disable' },
  { method: 'POST', url: '/admin/users/user/enable' },
  { method: 'DELETE', url: '/admin/users/user' },
  { method: 'PUT', url: '/admin/users/user/roles', payload: { roles: ['admin'] } },
  { method: 'POST', url: '/admin/users/user/password', payload: { password: 'new-password' } },
  { method: 'GET', url: '/admin/audit' },
  // An invalid body must not tell a caller without the role anything.
  { method: 'POST', url: '/admin/users', payload: { nonsense: true } }
] as const

// One app for the file and one admin, root, for every test. Each test works
// on users of its own and reads only the audit rows after its own mark.
const built = await build(t)
const token = await loginAdmin(built)

/** Creates `name` with the password `<name>-password` through the API, as root. */
async function createUser (built: Built, name: string, roles: string[] = []): Promise<void> {
  const res = await call(built, token, { method: 'POST', url: '/admin/users', payload: { username: name, password: `${name}-password`, roles } })
  if (res.statusCode !== 201) throw new Error(`create ${name}: ${res.statusCode} ${res.body}`)
}

t.test('admin routes: 401 without a token, 403 without the admin role', async (t) => {
  const before = await built.app.users.list()
  const userToken = (await built.login()).access_token
  for (const route of ROUTES) {
    const anonymous = await call(built, undefined, route)
    t.equal(anonymous.statusCode, 401, `${route.method} ${route.url} without a token`)
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
    const user = await call(built, userToken, route)
    t.equal(user.statusCode, 403, `${route.method} ${route.url} as a non-admin`)
    t.equal(user.json<{ error: string }>().error, 'insufficient_scope')
  }
  t.same(await built.app.users.list(), before, 'nothing was changed')
})

t.test('create and list users; the hash never leaves the server', async (t) => {
  const mark = await auditMark(built)
  const created = await call(built, token, { method: 'POST', url: '/admin/users', payload: { username: 'bob', password: 'bob-password', roles: ['ops', 'admin', 'ops'] } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { username: 'bob', roles: ['admin', 'ops'], disabled: false, createdAt: String })
  const list = await call(built, token, { method: 'GET', url: '/admin/users' })
  t.equal(list.statusCode, 200)
  const users = list.json<{ users: Array<Record<string, unknown>> }>().users
  const names = users.map((u) => u.username as string)
  t.same(names, (await built.app.users.list()).map((u) => u.username), 'every user')
  t.same(names, [...names].sort(), 'by name')
  t.ok(['bob', 'root', 'user'].every((name) => names.includes(name)))
  t.same(Object.keys(users[0] ?? {}).sort(), ['createdAt', 'disabled', 'roles', 'updatedAt', 'username'])
  t.notMatch(list.body, /\$2[aby]\$/, 'no bcrypt hash in the body')
  t.ok(await built.login('bob', 'bob-password'), 'bob can log in')
  const rows = await adminActions(built, mark)
  t.equal(rows.length, 1)
  t.match(rows[0], { kind: 'admin_action', username: 'root', ip: '127.0.0.1', userAgent: 'admin-test/1.0', outcome: 'success', reason: 'create user bob' })
})

t.test('create refusals: 409 duplicate, 400 bad username, password or roles; each audited', async (t) => {
  const mark = await auditMark(built)
  const post = async (payload: Record<string, unknown>): Promise<{ status: number, error: string, detail: string }> => {
    const res = await call(built, token, { method: 'POST', url: '/admin/users', payload })
    const body = res.json<{ error: string, detail: string }>()
    return { status: res.statusCode, error: body.error, detail: body.detail }
  }
  t.match(await post({ username: 'user', password: 'whatever' }), { status: 409, error: 'conflict', detail: 'User "user" already exists' })
  t.match(await post({ username: 'bad name', password: 'whatever' }), { status: 400, error: 'invalid_request', detail: /username/ })
  t.match(await post({ username: 'x'.repeat(129), password: 'whatever' }), { status: 400, error: 'invalid_request' })
  t.match(await post({ username: '', password: 'whatever' }), { status: 400, error: 'invalid_request' })
  t.match(await post({ username: 'carol', password: '' }), { status: 400, error: 'invalid_request', detail: /empty/ })
  t.match(await post({ username: 'carol', password: 'é'.repeat(37) }), { status: 400, error: 'invalid_request', detail: /72 bytes/ })
  t.match(await post({ username: 'carol', password: 'pw', roles: ['no spaces'] }), { status: 400, error: 'invalid_request', detail: /role/ })
  t.match(await post({ username: 'carol', password: 'pw', roles: 'admin' }), { status: 400, error: 'invalid_request' }, 'roles is not coerced from a string')
  t.match(await post({ username: 'carol', password: 12345678 }), { status: 400, error: 'invalid_request' }, 'password is not coerced from a number')
  t.equal(await built.app.users.findByUsername('carol'), undefined, 'nothing was created')
  const rows = await adminActions(built, mark)
  // The over-long name and the wrongly typed fields stop at the schema, before the service.
  t.same(rows.map((r) => r.outcome), Array(6).fill('failure'), 'refusals past the schema are audited')
  t.same(rows.map((r) => r.reason?.split(':')[0]), ['create user user', 'create user bad name', 'create user ', 'create user carol', 'create user carol', 'create user carol'])
  t.match(rows[0], { reason: 'create user user: User "user" already exists' })
  t.notMatch(JSON.stringify(rows) + built.logs(), /whatever|éééé/, 'no password in the audit log or the logs')
})

t.test('disable closes the user\'s live socket and refuses logins; enable restores', async (t) => {
  const mark = await auditMark(built)
  await createUser(built, 'dave')
  const dave = await built.login('dave', 'dave-password')
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${dave.access_token}`)
  const bystander = await TestSocket.connect(`${built.wsUrl}/ws?token=${(await built.login()).access_token}`)
  const disabled = await call(built, token, { method: 'POST', url: '/admin/users/dave/disable' })
  t.equal(disabled.statusCode, 200)
  t.match(disabled.json(), { username: 'dave', disabled: true })
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: dave.refresh_token } })
  t.equal(refresh.statusCode, 400, 'the refresh token is dead')
  await t.rejects(built.login('dave', 'dave-password'), /401/, 'a disabled user cannot log in')
  bystander.send({ type: 'still-here' })
  t.match(await bystander.next(), { type: 'still-here' }, 'other users keep their sockets')
  bystander.close()

  const enabled = await call(built, token, { method: 'POST', url: '/admin/users/dave/enable' })
  t.equal(enabled.statusCode, 200)
  t.match(enabled.json(), { username: 'dave', disabled: false })
  t.ok(await built.login('dave', 'dave-password'), 'dave can log in again')
  t.same((await adminActions(built, mark)).map((r) => [r.outcome, r.reason]), [
    ['success', 'create user dave'], ['success', 'disable user dave'], ['success', 'enable user dave']
  ])
})

t.test('an admin may not disable or delete themselves', async (t) => {
  const mark = await auditMark(built)
  for (const route of [{ method: 'POST', url: '/admin/users/root/disable' }, { method: 'DELETE', url: '/admin/users/root' }] as const) {
    const res = await call(built, token, route)
    t.equal(res.statusCode, 400, `${route.method} ${route.url}`)
    t.match(res.json(), { error: 'invalid_request', detail: /your own account/ })
  }
  t.match(await built.app.users.findByUsername(ROOT.username), { disabled: false })
  const me = await call(built, token, { method: 'GET', url: '/me' })
  t.equal(me.statusCode, 200, 'the admin\'s session is untouched')
  t.same((await adminActions(built, mark)).map((r) => r.outcome), ['failure', 'failure'])
})

t.test('an admin may not remove their own admin role, so an admin always remains', async (t) => {
  const res = await call(built, token, { method: 'PUT', url: '/admin/users/root/roles', payload: { roles: ['auditor'] } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { error: 'invalid_request', detail: /your own admin role/ })
  t.same((await built.app.users.findByUsername(ROOT.username))?.roles, ['admin'], 'roles unchanged')
  const keep = await call(built, token, { method: 'PUT', url: '/admin/users/root/roles', payload: { roles: ['admin', 'auditor'] } })
  t.equal(keep.statusCode, 200, 'adding roles to oneself is fine')
  // Back as the other tests expect root.
  await built.app.users.setRoles(ROOT.username, ['admin'])
})

t.test('delete closes the user\'s socket and removes them', async (t) => {
  const mark = await auditMark(built)
  await createUser(built, 'erin')
  const erin = await built.login('erin', 'erin-password')
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${erin.access_token}`)
  const deleted = await call(built, token, { method: 'DELETE', url: '/admin/users/erin' })
  t.equal(deleted.statusCode, 204)
  t.equal(deleted.body, '')
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' })
  t.equal(await built.app.users.findByUsername('erin'), undefined)
  const me = await call(built, erin.access_token, { method: 'GET', url: '/me' })
  t.equal(me.statusCode, 401, 'erin\'s access token is dead')
  const again = await call(built, token, { method: 'DELETE', url: '/admin/users/erin' })
  t.equal(again.statusCode, 404)
  t.same((await adminActions(built, mark)).map((r) => [r.outcome, r.reason]), [
    ['success', 'create user erin'], ['success', 'delete user erin'], ['failure', 'delete user erin: No user named "erin"']
  ])
})

t.test('set roles replaces them; they apply at the next request', async (t) => {
  const mark = await auditMark(built)
  await createUser(built, 'fay')
  const fay = await built.login('fay', 'fay-password')
  const forbidden = await call(built, fay.access_token, { method: 'GET', url: '/admin/users' })
  t.equal(forbidden.statusCode, 403)
  const set = await call(built, token, { method: 'PUT', url: '/admin/users/fay/roles', payload: { roles: ['ops', 'admin'] } })
  t.equal(set.statusCode, 200)
  t.match(set.json(), { username: 'fay', roles: ['admin', 'ops'] })
  const allowed = await call(built, fay.access_token, { method: 'GET', url: '/admin/users' })
  t.equal(allowed.statusCode, 200, 'the same token now passes: roles are read from the user row')
  const cleared = await call(built, token, { method: 'PUT', url: '/admin/users/fay/roles', payload: { roles: [] } })
  t.match(cleared.json(), { roles: [] })
  const bad = await call(built, token, { method: 'PUT', url: '/admin/users/fay/roles', payload: { roles: ['a,b'] } })
  t.equal(bad.statusCode, 400, 'a comma would split the stored list')
  const missing = await call(built, token, { method: 'PUT', url: '/admin/users/fay/roles' })
  t.equal(missing.statusCode, 400)
  t.same((await adminActions(built, mark)).map((r) => [r.outcome, r.reason]), [
    ['success', 'create user fay'],
    ['success', 'set roles of fay to [admin,ops]'],
    ['success', 'set roles of fay to []'],
    ['failure', 'set roles of fay to [a,b]: Invalid role "a,b": use 1-64 of A-Z a-z 0-9 _ . : -']
  ])
})

t.test('password reset ends the user\'s sessions; the new password works', async (t) => {
  const mark = await auditMark(built)
  await createUser(built, 'gus')
  const gus = await built.login('gus', 'gus-password')
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${gus.access_token}`)
  const tooLong = await call(built, token, { method: 'POST', url: '/admin/users/gus/password', payload: { password: 'x'.repeat(73) } })
  t.equal(tooLong.statusCode, 400)
  const reset = await call(built, token, { method: 'POST', url: '/admin/users/gus/password', payload: { password: 'new-gus-password' } })
  t.equal(reset.statusCode, 204)
  t.same(await closedWithin(socket), { code: 1008, reason: 'Session revoked' })
  await t.rejects(built.login('gus', 'gus-password'), /401/, 'the old password is refused')
  t.ok(await built.login('gus', 'new-gus-password'), 'the new one works')
  const rows = await adminActions(built, mark)
  t.same(rows.map((r) => r.outcome), ['success', 'failure', 'success'])
  t.match(rows[2], { reason: 'reset password of gus' })
  t.notMatch(JSON.stringify(rows) + built.logs(), /new-gus-password|xxxxxxxx/, 'no password in the audit log or the logs')
})

t.test('unknown users get 404 on every per-user route', async (t) => {
  const mark = await auditMark(built)
  const routes = [
    { method: 'POST', url: '/admin/users/ghost/disable' },
    { method: 'POST', url: '/admin/users/ghost/enable' },
    { method: 'DELETE', url: '/admin/users/ghost' },
    { method: 'PUT', url: '/admin/users/ghost/roles', payload: { roles: ['admin'] } },
    { method: 'POST', url: '/admin/users/ghost/password', payload: { password: 'whatever' } }
  ] as const
  const callsBefore = built.app.passwords.calls
  for (const route of routes) {
    const res = await call(built, token, route)
    t.equal(res.statusCode, 404, `${route.method} ${route.url}`)
    t.match(res.json(), { error: 'not_found', detail: 'No user named "ghost"' })
  }
  t.equal(built.app.passwords.calls, callsBefore, 'no bcrypt work for an unknown user')
  const rows = await adminActions(built, mark)
  t.equal(rows.length, routes.length)
  t.ok(rows.every((r) => r.outcome === 'failure'))
})

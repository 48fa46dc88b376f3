import t from 'tap'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { call, loginAdmin } from './admin.js'

/*
 * An elevation an admin's role granted ends with the role: removing it (the
 * admin API, or the stored roles read at an in-band refresh) closes that
 * admin's `/admin/ws` sockets with 1008 Forbidden and takes back every
 * `admin_auth` their token made, on any user's socket. The PIN's stay.
 */

const PIN = 'pin-4321-abcd'
const built = await build(t, { ADMIN_TOKEN: PIN })
const root = await loginAdmin(built)

async function newAdmin (username: string): Promise<string> {
  await built.app.users.create({ username, passwordHash: await built.app.passwords.hash(`${username}-password`), roles: ['admin'] })
  return (await built.login(username, `${username}-password`)).access_token
}

async function elevated (token: string, adminToken: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'admin_auth', token: adminToken })
  const reply = await socket.nextOfType('admin_auth_response')
  if (reply.success !== true) throw new Error(`admin_auth refused: ${JSON.stringify(reply)}`)
  return socket
}

t.test('removing the role closes that admin\'s /admin/ws and ends the elevations their token made; others stay', async (t) => {
  const boss = await newAdmin('boss')
  const { access_token: userToken } = await built.login()
  const bossAdminWs = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${boss}`)
  const rootAdminWs = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${root}`)
  const byBoss = await elevated(userToken, boss)
  const byPin = await elevated(userToken, PIN)
  const byRoot = await elevated(userToken, root)
  t.teardown(() => { for (const s of [rootAdminWs, byBoss, byPin, byRoot]) s.close() })

  const res = await call(built, root, { method: 'PUT', url: '/admin/users/boss/roles', payload: { roles: [] } })
  t.equal(res.statusCode, 200)

  t.same(await closedWithin(bossAdminWs, 5000), { code: 1008, reason: 'Forbidden' }, 'boss\'s /admin/ws is closed')
  byBoss.send({ type: 'admin_command', command: 'stats', requestId: 'after' })
  t.match(await byBoss.nextOfType('error'), { code: 'forbidden', message: 'Admin only: send admin_auth first', requestId: 'after' }, 'the elevation boss\'s token made is over')
  for (const [name, socket] of [['the PIN', byPin], ['root\'s token', byRoot], ['root\'s /admin/ws', rootAdminWs]] as const) {
    socket.send({ type: 'get_stats', requestId: 'still' })
    t.match((await socket.upTo((m) => m.requestId === 'still')).found, { type: 'stats_update' }, `an elevation by ${name} stays`)
  }
  t.match(built.logs(), /"elevation":"closed"/, 'the close is logged')
  t.notOk(built.logs().includes(boss), 'and no token is')
})

t.test('an in-band refresh reads the stored roles: without admin, the /admin/ws socket is closed', async (t) => {
  const chief = await newAdmin('chief')
  const socket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${chief}`)
  // Changed in the store alone, as a CLI with no broker would: no event reaches the socket.
  await built.app.users.setRoles('chief', [])
  socket.send({ type: 'get_stats', requestId: 'before' })
  t.match((await socket.upTo((m) => m.requestId === 'before')).found, { type: 'stats_update' }, 'nothing has told the socket yet')
  const { sid } = decodeJwtPart(chief, 1)
  socket.send({ type: 'refresh', token: forgeToken({ sub: 'chief', sid, roles: ['admin'], iat: nowSeconds(), exp: nowSeconds() + 600 }) })
  t.same(await closedWithin(socket, 5000), { code: 1008, reason: 'Forbidden' })
})

import t from 'tap'
import { build, waitFor, type Built, type TokenResponseBody } from '../helper.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'
import { loginAdmin } from '../admin/admin.js'
import { IoTestClient, disconnectedWithin } from './io-client.js'

// What ends a Socket.IO socket after it connected: expiry, revocation, a
// disabled user, a role change, shutdown, each with a disconnect_reason.

// No clock tolerance, so that a token ends its socket at its exp; a fast sweep.
const built = await build(t, { SOCKETIO_ENABLED: 'true', JWT_CLOCK_TOLERANCE_SECONDS: '0', WS_REVALIDATE_INTERVAL_MS: '50' })
const admin = await loginAdmin(built)

async function newUser (app: Built, username: string): Promise<TokenResponseBody> {
  const password = `${username}-password`
  await app.app.users.create({ username, passwordHash: await app.app.passwords.hash(password) })
  return await app.login(username, password)
}

/** The disconnect_reason, then the disconnect itself, as socket.io-client reports it. */
async function endedWith (client: IoTestClient, reason: string, code: string, closeCode = 1008): Promise<string> {
  const told = await client.nextOf('disconnect_reason', 10_000)
  if (told.reason !== reason || told.code !== code || told.closeCode !== closeCode) throw new Error(`unexpected disconnect_reason ${JSON.stringify(told)}`)
  return await disconnectedWithin(client, 10_000)
}

t.test('expiry: disconnected at exp unless refreshed with a refresh event', async (t) => {
  const tokens = await newUser(built, 'erin')
  const { sub, sid } = decodeJwtPart(tokens.access_token, 1)
  const expiring = forgeToken({ sub, sid, roles: [], iat: nowSeconds(), exp: Math.ceil((Date.now() + 1000) / 1000) })
  const [plain, refreshed] = await Promise.all([0, 1].map(async () => await IoTestClient.connect(built.url, { auth: { token: expiring } })))
  if (plain === undefined || refreshed === undefined) throw new Error('two sockets expected')
  refreshed.emit('refresh', { token: tokens.access_token, requestId: 'r-1' })
  t.match(await refreshed.nextOf('refreshed'), { type: 'refreshed', expiresAt: decodeJwtPart(tokens.access_token, 1).exp, requestId: 'r-1' })
  t.equal(await endedWith(plain, 'Token expired', 'token_expired'), 'io server disconnect', 'the one that did not refresh')
  refreshed.emit('ping')
  t.match(await refreshed.nextOf('pong'), { type: 'pong' }, 'the refreshed one is still connected')
  refreshed.close()
})

t.test('revocation, a disabled user and the database sweep reach Socket.IO sockets', async (t) => {
  const fay = await newUser(built, 'fay')
  const gus = await newUser(built, 'gus')
  const viaRevoke = await IoTestClient.connect(built.url, { auth: { token: fay.access_token } })
  await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: fay.refresh_token } })
  t.equal(await endedWith(viaRevoke, 'Session revoked', 'session_revoked'), 'io server disconnect', 'POST /token/revoke')

  const viaDisable = await IoTestClient.connect(built.url, { auth: { token: gus.access_token }, transports: ['polling'] })
  const res = await built.app.inject({ method: 'POST', url: '/admin/users/gus/disable', headers: { authorization: `Bearer ${admin}` } })
  t.equal(res.statusCode, 200)
  t.equal(await endedWith(viaDisable, 'Session revoked', 'session_revoked'), 'io server disconnect', 'a disabled user, over polling')

  const hal = await newUser(built, 'hal')
  const viaSweep = await IoTestClient.connect(built.url, { auth: { token: hal.access_token } })
  // As the users CLI does it: straight to the database, no broker event.
  await built.app.users.setDisabled('hal', true)
  t.equal(await endedWith(viaSweep, 'Session revoked', 'session_revoked'), 'io server disconnect', 'found by the sweep')
})

t.test('a role change takes a Socket.IO socket out of channels it no longer may be in', async (t) => {
  await newUser(built, 'ivy')
  const setRoles = async (roles: string[]): Promise<void> => {
    const res = await built.app.inject({ method: 'PUT', url: '/admin/users/ivy/roles', headers: { authorization: `Bearer ${admin}` }, payload: { roles } })
    t.equal(res.statusCode, 200, `roles ${roles.join(',')}`)
  }
  await setRoles(['admin'])
  const { access_token: token } = await built.login('ivy', 'ivy-password')
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  t.teardown(() => { client.close() })
  client.emit('subscribe', { channel: 'admin:ops' })
  t.match(await client.nextOf('subscribed'), { channel: 'admin:ops' })
  await setRoles([])
  t.same(await client.nextOf('unsubscribed'), { type: 'unsubscribed', channel: 'admin:ops', reason: 'forbidden' })
  client.emit('ping')
  t.match(await client.nextOf('pong'), { type: 'pong' }, 'and stays connected')
})

t.test('shutdown: Server shutting down, and the transport closed so that clients reconnect elsewhere', async (t) => {
  const app = await build(t, { SOCKETIO_ENABLED: 'true' })
  const { access_token: token } = await app.login()
  const ws = await IoTestClient.connect(app.url, { auth: { token } })
  const polling = await IoTestClient.connect(app.url, { auth: { token }, transports: ['polling'] })
  const closing = app.app.close()
  t.equal(await endedWith(ws, 'Server shutting down', 'shutting_down', 1001), 'transport close')
  t.equal(await endedWith(polling, 'Server shutting down', 'shutting_down', 1001), 'transport close', 'over polling too')
  await closing
  await waitFor(() => app.app.hub.size === 0, 1000, 'an empty hub')
})

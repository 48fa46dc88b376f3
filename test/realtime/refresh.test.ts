import t from 'tap'
import WebSocket from 'ws'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'

/** A token for the logged-in session that expires in `seconds`. */
function shortLived (accessToken: string, seconds: number): string {
  const { sid } = decodeJwtPart(accessToken, 1)
  return forgeToken({ sub: 'user', sid, roles: [], iat: nowSeconds(), exp: nowSeconds() + seconds })
}

t.test('a token that expires while connected closes the socket with Token expired', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${shortLived(token, 2)}`)
  t.same(await closedWithin(socket, 4000), { code: 1008, reason: 'Token expired' })
})

t.test('in-band refresh keeps a socket alive past its old expiry', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const tokens = await built.login()
  const refreshed = await TestSocket.connect(`${built.wsUrl}/ws?token=${shortLived(tokens.access_token, 2)}`)
  const control = await TestSocket.connect(`${built.wsUrl}/ws?token=${shortLived(tokens.access_token, 2)}`)
  const grant = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
  const fresh = grant.json<{ access_token: string }>().access_token
  refreshed.send({ type: 'refresh', token: fresh, requestId: 'r-1' })
  const reply = await refreshed.next()
  t.equal(reply.type, 'refreshed')
  t.equal(reply.requestId, 'r-1')
  t.equal(reply.expiresAt, decodeJwtPart(fresh, 1).exp, 'the new expiry')
  t.same(await closedWithin(control, 4000), { code: 1008, reason: 'Token expired' }, 'the socket that did not refresh is closed')
  t.equal(refreshed.ws.readyState, WebSocket.OPEN, 'the refreshed one is still open')
  refreshed.send({ type: 'ping' })
  t.match(await refreshed.next(), { type: 'pong' })
  refreshed.close()
})

t.test('a refresh with another user\'s or a bad token is refused and the old expiry stays', async (t) => {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const { access_token: token } = await built.login()
  await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash('bob-password') })
  const bob = await built.login('bob', 'bob-password')
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${shortLived(token, 2)}`)
  socket.send({ type: 'refresh', token: bob.access_token })
  t.match(await socket.next(), { type: 'error', code: 'invalid_token', message: /another user/ })
  socket.send({ type: 'refresh', token: 'garbage' })
  t.match(await socket.next(), { type: 'error', code: 'invalid_token' })
  socket.send({ type: 'refresh' })
  t.match(await socket.next(), { type: 'error', code: 'invalid_message' })
  t.same(await closedWithin(socket, 4000), { code: 1008, reason: 'Token expired' }, 'still closes at the old expiry')
})

t.test('get_status reports the caller\'s own view', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const other = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  socket.send({ type: 'get_status' })
  const status = await socket.next()
  t.match(status, { type: 'status', user: 'user', roles: [], connections: 2, channels: ['global'] })
  t.equal(status.expiresAt, decodeJwtPart(token, 1).exp)
  socket.close()
  other.close()
})

t.test('POST /messages publishes stamped like a socket message', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const res = await fetch(`${built.url}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'deploy', payload: { version: 3 }, user: 'forged' })
  })
  t.equal(res.status, 202)
  const body = await res.json() as Record<string, unknown>
  t.match(body, { type: 'deploy', payload: { version: 3 }, user: 'user' })
  t.same(await socket.next(), body, 'the socket receives exactly the stamped message')
  const reserved = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'connection_established' } })
  t.equal(reserved.statusCode, 400)
  const noType = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { payload: 1 } })
  t.equal(noType.statusCode, 400)
  const anonymous = await built.app.inject({ method: 'POST', url: '/messages', payload: { type: 'x' } })
  t.equal(anonymous.statusCode, 401)
  t.same(await socket.drain(100), [], 'refused publishes reached nobody')
  socket.close()
})

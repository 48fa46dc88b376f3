import t from 'tap'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

t.test('the password grant returns a refresh token; refresh rotates it', async (t) => {
  const built = await build(t)
  const first = await built.login()
  t.type(first.refresh_token, 'string')
  const refreshed = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.headers['cache-control'], 'no-store')
  const second = refreshed.json<{ access_token: string, refresh_token: string, expires_in: number }>()
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
  t.equal(second.expires_in, 1800)
  const me = await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${second.access_token}` } })
  t.equal(me.statusCode, 200, 'the new access token works')
  const sid = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid
  t.equal(sid(second.access_token), sid(first.access_token), 'same session')
  const stored = await built.app.db.selectFrom('refresh_tokens').select(['token_hash']).execute()
  t.notOk(stored.some((r) => r.token_hash === first.refresh_token || r.token_hash === second.refresh_token), 'only hashes are stored')
})

t.test('reusing a rotated refresh token revokes the whole family', async (t) => {
  const built = await build(t)
  const first = await built.login()
  const refresh = async (token: string | undefined): Promise<{ statusCode: number, body: Record<string, unknown> }> => {
    const res = await built.app.inject({ method: 'POST', url: '/token', payload: `grant_type=refresh_token&refresh_token=${token ?? ''}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const rotated = await refresh(first.refresh_token)
  t.equal(rotated.statusCode, 200)
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${String(rotated.body.access_token)}`)
  const reuse = await refresh(first.refresh_token)
  t.equal(reuse.statusCode, 400)
  t.equal(reuse.body.error, 'invalid_grant')
  const newer = await refresh(String(rotated.body.refresh_token))
  t.equal(newer.statusCode, 400, 'the newer refresh token is dead too')
  t.equal(newer.body.error, 'invalid_grant')
  const me = await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${String(rotated.body.access_token)}` } })
  t.equal(me.statusCode, 401, 'access tokens of the session are refused')
  t.match(me.headers['www-authenticate'], /Session revoked/)
  t.same(await closedWithin(socket, 1000), { code: 1008, reason: 'Session revoked' }, 'its live socket is closed')
})

t.test('refresh grant failures are 400 invalid_grant', async (t) => {
  const built = await build(t)
  const tokens = await built.login()
  const post = async (payload: Record<string, string>): Promise<{ statusCode: number, error: unknown }> => {
    const res = await built.app.inject({ method: 'POST', url: '/token', payload })
    return { statusCode: res.statusCode, error: res.json<{ error: unknown }>().error }
  }
  t.same(await post({ grant_type: 'refresh_token' }), { statusCode: 400, error: 'invalid_request' }, 'missing refresh_token')
  t.same(await post({ grant_type: 'refresh_token', refresh_token: 'never-issued' }), { statusCode: 400, error: 'invalid_grant' }, 'unknown')
  await built.app.db.updateTable('refresh_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute()
  t.same(await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }), { statusCode: 400, error: 'invalid_grant' }, 'expired')
  const other = await built.login()
  await built.app.users.setDisabled('user', true)
  t.same(await post({ grant_type: 'refresh_token', refresh_token: other.refresh_token ?? '' }), { statusCode: 400, error: 'invalid_grant' }, 'disabled user')
})

t.test('revoking a refresh token closes that session\'s sockets, and only those', async (t) => {
  const built = await build(t)
  const mine = await built.login()
  const other = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${mine.access_token}`)
  const bystander = await TestSocket.connect(`${built.wsUrl}/ws?token=${other.access_token}`)
  const res = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: mine.refresh_token, token_type_hint: 'refresh_token' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(await closedWithin(socket, 1000), { code: 1008, reason: 'Session revoked' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: mine.refresh_token } })
  t.equal(refresh.statusCode, 400, 'refresh refused after revocation')
  const retry = await TestSocket.open(`${built.wsUrl}/ws?token=${mine.access_token}`)
  t.same(await closedWithin(retry), { code: 1008, reason: 'Session revoked' }, 'a new socket with the old access token is refused')
  bystander.send({ type: 'still-here' })
  t.match(await bystander.next(), { type: 'still-here' }, 'the other session is untouched')
  bystander.close()
})

t.test('revoking an access token ends its session; unknown tokens still get 200', async (t) => {
  const built = await build(t)
  const tokens = await built.login()
  const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${tokens.access_token}`)
  const res = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: tokens.access_token } })
  t.equal(res.statusCode, 200)
  t.same(await closedWithin(socket, 1000), { code: 1008, reason: 'Session revoked' })
  const refresh = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
  t.equal(refresh.statusCode, 400, 'its refresh token is dead too')
  const unknown = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: 'whatever' } })
  t.equal(unknown.statusCode, 200)
  t.same(unknown.json(), {})
  const missing = await built.app.inject({ method: 'POST', url: '/token/revoke', payload: {} })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json<{ error: string }>().error, 'invalid_request')
})

t.test('disabling a user closes every socket of that user', async (t) => {
  const built = await build(t)
  const a = await built.login()
  const b = await built.login()
  const first = await TestSocket.connect(`${built.wsUrl}/ws?token=${a.access_token}`)
  const second = await TestSocket.connect(`${built.wsUrl}/ws?token=${b.access_token}`)
  await built.app.users.setDisabled('user', true)
  await built.app.sessions.revokeUser('user', 'disabled')
  t.same(await closedWithin(first, 1000), { code: 1008, reason: 'Session revoked' })
  t.same(await closedWithin(second, 1000), { code: 1008, reason: 'Session revoked' })
  const again = await TestSocket.open(`${built.wsUrl}/ws?token=${a.access_token}`)
  t.same(await closedWithin(again), { code: 1008, reason: 'Invalid token' }, 'a disabled user cannot reconnect')
})

import { createRequire } from 'node:module'
import t, { type Test } from 'tap'
import { build, type Built } from '../helper.js'

/**
 * simple-oauth2, a widely used OAuth2 client, drives /token and
 * /token/revoke exactly as its README shows (password grant, persist and
 * refresh, revoke through `revokePath`). Its defaults are what a real client
 * sends and our own tests would not: client credentials in a Basic header,
 * a form body, `Accept: application/json`, a JSON parse that is strict about
 * the answer. A change to the token endpoint that breaks such a client fails here.
 */

/** The parts of simple-oauth2 5 used here (it ships no types). */
interface OAuthConfig {
  client: { id: string, secret: string }
  auth: { tokenHost: string, tokenPath?: string, revokePath?: string }
  options?: { authorizationMethod?: 'header' | 'body', bodyFormat?: 'form' | 'json' }
}
interface TokenFields {
  readonly access_token: string
  readonly refresh_token?: string
  readonly token_type: string
  readonly expires_in: number
  readonly expires_at: Date
}
interface AccessToken {
  readonly token: TokenFields
  expired (windowSeconds?: number): boolean
  refresh (params?: Record<string, string>): Promise<AccessToken>
  revoke (type: 'access_token' | 'refresh_token'): Promise<unknown>
  revokeAll (): Promise<void>
  toJSON (): TokenFields
}
interface PasswordClient {
  getToken (params: { username: string, password: string, scope?: string }): Promise<AccessToken>
  createToken (token: unknown): AccessToken
}
/** A Boom error, as simple-oauth2 throws for any non-2xx answer. */
interface BoomError extends Error {
  readonly output: { readonly statusCode: number }
  readonly data: { readonly payload: { readonly error?: string, readonly error_description?: string } }
}

// The README's own form: `const { ResourceOwnerPassword } = require('simple-oauth2')`.
const require = createRequire(import.meta.url)
const { ResourceOwnerPassword } = require('simple-oauth2') as { ResourceOwnerPassword: new (config: OAuthConfig) => PasswordClient }

/** The README's configuration, pointed at wsgate: a public client, so any id and an empty secret. */
function config (built: Built, options: OAuthConfig['options'] = {}, secret = ''): OAuthConfig {
  return {
    client: { id: 'simple-oauth2-test', secret },
    auth: { tokenHost: built.url, tokenPath: '/token', revokePath: '/token/revoke' },
    options
  }
}

async function whoIs (built: Built, accessToken: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${built.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

async function refused (t: Test, promise: Promise<unknown>, status: number, error: string, what: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e as BoomError)
  if (err === undefined) {
    t.fail(`${what}: expected a refusal`)
    return
  }
  t.equal(err.output?.statusCode, status, `${what}: HTTP ${status}`)
  t.equal(err.data?.payload?.error, error, `${what}: ${error}`)
}

t.test('password grant, persist, refresh and revoke as simple-oauth2\'s README does them', async (t) => {
  const built = await build(t)
  const client = new ResourceOwnerPassword(config(built))

  let accessToken = await client.getToken({ username: 'user', password: 'password' })
  t.equal(accessToken.token.token_type, 'bearer')
  t.ok(accessToken.token.expires_at instanceof Date, 'expires_in was read into expires_at')
  t.notOk(accessToken.expired(), 'not expired')
  t.ok(accessToken.expired(accessToken.token.expires_in + 60), 'expired within a window longer than its life')
  t.same((await whoIs(built, accessToken.token.access_token)).body, { username: 'user', roles: [] })

  // "Persist" and restore, then refresh: the README's round trip.
  const persisted = JSON.stringify(accessToken)
  const restored = client.createToken(JSON.parse(persisted))
  accessToken = await restored.refresh()
  t.not(accessToken.token.refresh_token, restored.token.refresh_token, 'the refresh token rotates')
  t.not(accessToken.token.access_token, restored.token.access_token, 'a new access token')
  t.equal((await whoIs(built, accessToken.token.access_token)).status, 200, 'the refreshed token works')

  await accessToken.revoke('access_token')
  const after = await whoIs(built, accessToken.token.access_token)
  t.equal(after.status, 401, 'revoking the access token ends its session')
  t.equal(after.body.error_description, 'Session revoked')
  // RFC 7009 §2.2: a token already revoked is still answered with 200.
  await t.resolves(accessToken.revoke('refresh_token'), 'revoking the refresh token of a revoked session succeeds')
  await refused(t, accessToken.refresh(), 400, 'invalid_grant', 'refreshing a revoked session')
})

t.test('revokeAll ends the session', async (t) => {
  const built = await build(t)
  const client = new ResourceOwnerPassword(config(built))
  const accessToken = await client.getToken({ username: 'user', password: 'password' })
  await accessToken.revokeAll()
  t.equal((await whoIs(built, accessToken.token.access_token)).status, 401)
  await refused(t, accessToken.refresh(), 400, 'invalid_grant', 'refresh after revokeAll')
})

t.test('errors come back as RFC 6749 bodies that the client parses', async (t) => {
  const built = await build(t)
  const client = new ResourceOwnerPassword(config(built))
  await refused(t, client.getToken({ username: 'user', password: 'wrong-password' }), 401, 'invalid_grant', 'a wrong password')
  const restored = client.createToken({ access_token: 'x', refresh_token: 'not-a-refresh-token', token_type: 'bearer', expires_in: 60 })
  await refused(t, restored.refresh(), 400, 'invalid_grant', 'an unknown refresh token')
})

t.test('client credentials in the header or the body, form or JSON, with or without a secret: all public', async (t) => {
  const built = await build(t)
  for (const authorizationMethod of ['header', 'body'] as const) {
    for (const bodyFormat of ['form', 'json'] as const) {
      for (const secret of ['', 'a-secret-nobody-issued']) {
        const what = `${authorizationMethod}, ${bodyFormat}, ${secret === '' ? 'no secret' : 'a secret'}`
        const client = new ResourceOwnerPassword(config(built, { authorizationMethod, bodyFormat }, secret))
        const accessToken = await client.getToken({ username: 'user', password: 'password', scope: '' })
        t.equal((await whoIs(built, accessToken.token.access_token)).status, 200, `${what}: logged in`)
        const refreshed = await accessToken.refresh()
        t.equal((await whoIs(built, refreshed.token.access_token)).status, 200, `${what}: refreshed`)
        await refreshed.revokeAll()
        t.equal((await whoIs(built, refreshed.token.access_token)).status, 401, `${what}: revoked`)
      }
    }
  }
})

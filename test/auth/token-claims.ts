import type { Test } from 'tap'
import { build, type Built } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { forgeToken, nowSeconds } from './forge.js'

/**
 * A token must look like one this server could have issued: `iat` no later
 * than now plus the clock tolerance (5 s), and `exp − iat` no longer than
 * ACCESS_TOKEN_EXPIRE_MINUTES (30). Forged with the right secret, so only
 * these claims stand between each token and acceptance.
 *
 * Run by bearer-and-sessions.test.ts on its shared app (default settings);
 * the last test builds one with a shorter lifetime.
 */
export function claimsSuite (t: Test, built: Built): void {
  const LIFETIME = built.config.accessTokenMinutes * 60
  const TOLERANCE = built.config.clockToleranceSeconds

  async function onRest (token: string): Promise<{ status: number, description: unknown }> {
    const res = await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    return { status: res.statusCode, description: res.json<{ error_description?: unknown }>().error_description }
  }

  /** `accepted`, or the close reason of a socket that presented the token in the query string. */
  async function onSocket (token: string): Promise<string> {
    const socket = await TestSocket.open(`${built.wsUrl}/ws?token=${token}`)
    const first = await Promise.race([
      socket.next().then((m) => m.type === 'connection_established' ? 'accepted' : `message ${String(m.type)}`),
      socket.closed.then((c) => `${c.code} ${c.reason}`)
    ])
    socket.close()
    await closedWithin(socket)
    return first
  }

  async function refused (t: Test, what: string, claims: object): Promise<void> {
    const token = forgeToken({ sub: 'user', roles: [], ...claims })
    t.same(await onRest(token), { status: 401, description: 'Invalid token' }, `${what}: 401 on REST`)
    t.equal(await onSocket(token), '1008 Invalid token', `${what}: 1008 on /ws`)
  }

  async function accepted (t: Test, what: string, claims: object): Promise<void> {
    const token = forgeToken({ sub: 'user', roles: [], ...claims })
    t.equal((await onRest(token)).status, 200, `${what}: 200 on REST`)
    t.equal(await onSocket(token), 'accepted', `${what}: accepted on /ws`)
  }

  t.test('iat in the future beyond the clock tolerance is refused', async (t) => {
    const now = nowSeconds()
    await refused(t, 'iat in a minute', { iat: now + 60, exp: now + 60 + LIFETIME })
    await refused(t, 'iat in a year', { iat: now + 365 * 86400, exp: now + 365 * 86400 + 60 })
    await refused(t, 'iat just past the tolerance', { iat: now + TOLERANCE + 3, exp: now + 600 })
    await accepted(t, 'iat within the tolerance (a server clock slightly ahead)', { iat: now + TOLERANCE - 2, exp: now + 600 })
  })

  t.test('a lifetime longer than ACCESS_TOKEN_EXPIRE_MINUTES is refused', async (t) => {
    const now = nowSeconds()
    await refused(t, 'exp in ten years', { iat: now, exp: now + 10 * 365 * 86400 })
    await refused(t, 'one second too long', { iat: now, exp: now + LIFETIME + 1 })
    await refused(t, 'backdated iat, far exp', { iat: now - 60, exp: now + 2 * LIFETIME })
    await accepted(t, 'exactly the configured lifetime', { iat: now, exp: now + LIFETIME })
    await accepted(t, 'shorter', { iat: now - 10, exp: now + 50 })
    const { access_token: issued } = await built.login()
    t.equal((await onRest(issued)).status, 200, 'the tokens the server issues pass')
    t.equal(await onSocket(issued), 'accepted')
    const testToken = built.app.tokens.testToken ?? ''
    t.equal((await onRest(testToken)).status, 200, 'the test token (no exp) keeps its own rule')
    t.equal(await onSocket(testToken), 'accepted')
  })

  t.test('without iat, exp must be within one lifetime from now', async (t) => {
    const now = nowSeconds()
    await refused(t, 'no iat, exp in a day', { exp: now + 86400 })
    await accepted(t, 'no iat, exp in a minute', { exp: now + 60 })
  })

  t.test('a shorter configured lifetime tightens the bound', async (t) => {
    const short = await build(t, { ACCESS_TOKEN_EXPIRE_MINUTES: '2' })
    const now = nowSeconds()
    const res = await short.app.inject({ url: '/me', headers: { authorization: `Bearer ${forgeToken({ sub: 'user', iat: now, exp: now + 180 })}` } })
    t.equal(res.statusCode, 401, 'a 3-minute token against a 2-minute lifetime')
    const ok = await short.app.inject({ url: '/me', headers: { authorization: `Bearer ${forgeToken({ sub: 'user', iat: now, exp: now + 120 })}` } })
    t.equal(ok.statusCode, 200)
  })
}

import t from 'tap'
import { backoffDelay, Close, closeAction, decodeClaims, maskSecrets, maskToken, tokenExpiry } from '../../src/client/index.js'
import { forgeToken } from '../auth/forge.js'

t.test('every close in the protocol table has the action docs/PROTOCOL.md gives it', async (t) => {
  const expected: Record<keyof typeof Close, string> = {
    missingToken: 'login',
    authTimeout: 'reconnect',
    tokenExpired: 'refresh',
    invalidToken: 'login',
    invalidPayload: 'login',
    sessionRevoked: 'login',
    forbidden: 'login',
    rateLimited: 'reconnect',
    originNotAllowed: 'stop',
    binaryNotSupported: 'stop',
    messageTooBig: 'stop',
    tooManyConnections: 'reconnect',
    slowConsumer: 'reconnect',
    internalError: 'reconnect',
    shuttingDown: 'reconnect'
  }
  for (const [name, spec] of Object.entries(Close)) {
    t.equal(closeAction(spec.code, spec.reason), expected[name as keyof typeof Close], `${spec.code} ${spec.reason}`)
  }
  t.equal(closeAction(1006, ''), 'reconnect', 'no close frame: network or crash')
  t.equal(closeAction(1000, 'bye'), 'stop')
  t.equal(closeAction(1008, 'Something new'), 'stop', 'an unknown policy close is not retried')
})

t.test('backoff: full jitter under an exponential ceiling', async (t) => {
  const options = { baseMs: 100, maxMs: 1000 }
  t.same([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0.999999)), [99, 199, 399, 799, 999, 999])
  t.equal(backoffDelay(3, options, () => 0), 0, 'jitter reaches down to zero')
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(2, options)
    t.ok(delay >= 0 && delay < 400, 'within [0, base·2ⁿ)') || t.fail(`delay ${delay}`)
  }
  t.equal(backoffDelay(1000, options, () => 0.5), 500, 'huge attempts do not overflow')
})

t.test('tokens are read, never shown whole', async (t) => {
  const token = forgeToken({ sub: 'zoë', exp: 2000000000, roles: ['admin'] })
  t.match(decodeClaims(token), { sub: 'zoë', roles: ['admin'] }, 'UTF-8 claims decode')
  t.equal(tokenExpiry(token), 2000000000)
  t.equal(tokenExpiry('not-a-jwt'), null)
  t.equal(decodeClaims('a.%%%.c'), undefined)
  t.equal(maskToken(token), `${token.slice(0, 4)}…${token.slice(-4)}`)
  t.equal(maskToken('short'), '***')
  t.same(maskSecrets({ type: 'authenticate', token, nested: [{ refresh_token: token }], password: 'hunter2' }),
    { type: 'authenticate', token: maskToken(token), nested: [{ refresh_token: maskToken(token) }], password: '***' })
})

import t from 'tap'
import { io } from 'socket.io-client'
import { build, waitFor } from '../helper.js'
import { forgeToken, nowSeconds } from '../auth/forge.js'
import { auditSince, auditMark } from '../admin/admin.js'
import { IoTestClient, type IoOptions } from './io-client.js'

// The Socket.IO handshake: where the token may be, and every refusal as connect_error.

const ORIGIN = 'https://app.example.com'
const built = await build(t, { SOCKETIO_ENABLED: 'true', CORS_ORIGINS: ORIGIN })
const hub = built.app.hub
const TRANSPORTS = [['websocket'], ['polling']] as const

t.test('the first seed flow, verbatim: io(url, { auth: { token } }), polling then upgraded to websocket', async (t) => {
  const { access_token: token } = await built.login()
  const socket = io(built.url, { auth: { token } })
  const client = await IoTestClient.of(socket)
  t.teardown(() => { client.close() })
  t.equal(hub.connectionsOf('user'), 1, 'a hub member')
  await waitFor(() => socket.io.engine.transport.name === 'websocket', 3000, 'the upgrade to websocket')
  client.emit('get_status')
  t.match(await client.nextOf('status'), { type: 'status', user: 'user', connections: 1 }, 'it answers as a /ws socket')
  client.close()
  await waitFor(() => hub.size === 0, 3000, 'the hub to let go of it')
})

t.test('connection_established carries what /ws sends', async (t) => {
  const { access_token: token } = await built.login()
  const socket = io(built.url, { auth: { token }, forceNew: true, reconnection: false, transports: ['websocket'] })
  const welcome = new Promise((resolve) => { socket.once('connection_established', resolve) })
  t.teardown(() => { socket.close() })
  t.match(await welcome, { type: 'connection_established', user: 'user', connectionId: /^[0-9a-f-]{36}$/, expiresAt: Number })
})

for (const transports of TRANSPORTS) {
  const only = { transports: [...transports] }
  t.test(`${transports[0]}: the token in the query, as access_token, or as a bearer header`, async (t) => {
    const { access_token: token } = await built.login()
    const ways: Array<[string, IoOptions]> = [
      ['query token', { query: { token } }],
      ['query access_token', { query: { access_token: token } }],
      ['Authorization header', { extraHeaders: { authorization: `Bearer ${token}` } }],
      ['auth beats a bad query token', { auth: { token }, query: { token: 'not-a-token' } }]
    ]
    for (const [what, options] of ways) {
      const client = await IoTestClient.connect(built.url, { ...only, ...options })
      t.equal(hub.connectionsOf('user'), 1, `${what}: joined`)
      client.close()
      await waitFor(() => hub.size === 0, 3000, `${what}: left`)
    }
  })

  t.test(`${transports[0]}: every refusal is a connect_error with the /ws close reason and a machine code`, async (t) => {
    const tokens = await built.login()
    const revoked = await built.login()
    await built.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: revoked.refresh_token } })
    const now = nowSeconds()
    const cases: Array<[string, IoOptions, string, string]> = [
      ['no token', {}, 'Missing authentication token', 'missing_token'],
      ['a token that is not a string', { auth: { token: 42 } }, 'Missing authentication token', 'missing_token'],
      ['garbage', { auth: { token: 'garbage' } }, 'Invalid token', 'invalid_token'],
      ['another secret', { auth: { token: forgeToken({ sub: 'user', iat: now, exp: now + 60 }, { secret: 'x'.repeat(40) }) } }, 'Invalid token', 'invalid_token'],
      ['expired', { auth: { token: forgeToken({ sub: 'user', iat: now - 7200, exp: now - 3600 }) } }, 'Token expired', 'token_expired'],
      ['no sub', { auth: { token: forgeToken({ iat: now, exp: now + 60 }) } }, 'Invalid token payload', 'invalid_payload'],
      ['a revoked session', { auth: { token: revoked.access_token } }, 'Session revoked', 'session_revoked'],
      ['an unlisted Origin', { auth: { token: tokens.access_token }, extraHeaders: { origin: 'https://evil.example' } }, 'Origin not allowed', 'origin_not_allowed']
    ]
    for (const [what, options, reason, code] of cases) {
      const refusal = await IoTestClient.refused(built.url, { ...only, ...options })
      t.same(refusal, { message: reason, data: { code, closeCode: 1008 } }, `${what}: ${reason}`)
      t.equal(hub.size, 0, `${what}: nothing joined`)
    }
    const allowed = await IoTestClient.connect(built.url, { ...only, auth: { token: tokens.access_token }, extraHeaders: { origin: ORIGIN } })
    t.pass('a listed Origin is let in')
    allowed.close()
    await waitFor(() => hub.size === 0, 3000, 'left')
  })
}

t.test('a disabled user is refused, and the attempts are audited as /ws ones', async (t) => {
  const password = 'carol-password'
  await built.app.users.create({ username: 'carol', passwordHash: await built.app.passwords.hash(password) })
  const { access_token: token } = await built.login('carol', password)
  const mark = await auditMark(built)
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  client.close()
  await built.app.users.setDisabled('carol', true)
  const refusal = await IoTestClient.refused(built.url, { auth: { token } })
  t.equal(refusal.message, 'Invalid token', 'a disabled user\'s token is no longer valid, as on /ws')
  const rows = await auditSince(built, 'ws_auth', mark)
  t.match(rows, [
    { username: 'carol', outcome: 'success', reason: 'socketio-auth' },
    { username: null, outcome: 'failure', reason: 'Invalid token (socketio-auth)' }
  ])
})

t.test('no token reaches the log', async (t) => {
  const { access_token: token } = await built.login()
  const client = await IoTestClient.connect(built.url, { query: { token } })
  client.close()
  await IoTestClient.refused(built.url, { auth: { token: `${token}x` } })
  t.notMatch(built.logs(), token.split('.')[2] ?? token, 'no signature in any log line')
})

t.test('behind a trusted proxy the client address is X-Forwarded-For, as for HTTP and /ws', async (t) => {
  for (const trust of ['127.0.0.1', '1', 'true']) {
    const proxied = await build(t, { SOCKETIO_ENABLED: 'true', TRUST_PROXY: trust })
    const { access_token: token } = await proxied.login()
    const mark = await auditMark(proxied)
    for (const transports of TRANSPORTS) {
      const client = await IoTestClient.connect(proxied.url, { auth: { token }, transports: [...transports], extraHeaders: { 'x-forwarded-for': '203.0.113.7' } })
      client.close()
    }
    t.match(await auditSince(proxied, 'ws_auth', mark), [{ ip: '203.0.113.7' }, { ip: '203.0.113.7' }], `TRUST_PROXY=${trust}`)
  }
})

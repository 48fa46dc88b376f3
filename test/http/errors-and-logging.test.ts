import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { redactUrl } from '../../src/http/logging.js'
import { build, tempDir, testEnv } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

// What every route shares: the error shape, health checks, and what reaches
// the logs. One app serves the tests; the 500 test builds its own, because
// its failing routes must be added before the app is ready.

type Json = Record<string, unknown>

function parseLines (logs: string): Json[] {
  return logs.split('\n').filter((line) => line.trim() !== '').map((line) => {
    const value: unknown = JSON.parse(line)
    if (typeof value !== 'object' || value === null) throw new Error(`log line is not an object: ${line}`)
    return value as Json
  })
}

/** Every key anywhere inside a parsed log line. */
function keysOf (value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) keysOf(item, into)
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      into.add(key)
      keysOf(inner, into)
    }
  }
  return into
}

function requestUrl (line: Json): string | undefined {
  const req = line.req
  if (typeof req !== 'object' || req === null) return undefined
  const url = (req as Json).url
  return typeof url === 'string' ? url : undefined
}

/** Ways to put a token in a query string that the server does not read as a credential, and the ones it does. */
function spellings (token: string): string[] {
  return [
    `a=1;token=${token}`,
    `to+ken=${token}`,
    `token%00=${token}`,
    `token[]=${token}`,
    `%2574oken=${token}`,
    `x=1&${token}`,
    `channel=${token}`,
    `token=${token}`,
    `%74oken=${token}`,
    `access_token=${token}&token=${token}`
  ]
}

const built = await build(t)

t.test('an unknown route is a 404 in the error shape', async (t) => {
  const res = await built.app.inject({ method: 'GET', url: '/no/such/route?token=secret-in-query' })
  t.equal(res.statusCode, 404)
  t.match(String(res.headers['content-type']), /^application\/json/)
  const body = res.json<Json>()
  t.equal(body.error, 'not_found')
  t.type(body.error_description, 'string')
  t.equal(body.error_description, body.detail)
  t.match(String(body.error_description), '/no/such/route')
  t.notMatch(String(body.error_description), 'secret-in-query', 'the query string is not echoed')

  const post = await built.app.inject({ method: 'POST', url: '/nope', payload: { a: 1 } })
  t.equal(post.statusCode, 404)
  t.equal(post.json<Json>().error, 'not_found')
})

t.test('/health and /ready', async (t) => {
  const health = await built.app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })

  const ready = await built.app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  const body = ready.json<Json>()
  t.equal(body.database, 'ok')
  t.equal(body.status, 'ready')

  const real = await fetch(`${built.url}/health`)
  t.equal(real.status, 200)
  t.same(await real.json(), { status: 'ok' })
})

t.test('an unexpected error is a bare 500, logged with the request id', async (t) => {
  const lines: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _enc, done) {
      lines.push(chunk.toString())
      done()
    }
  })
  const config = loadConfig(testEnv(tempDir(t)))
  const app = await buildApp(config, { logStream })
  t.teardown(async () => { await app.close() })
  const INTERNALS = 'connection to db-internal.corp:5432 refused by pg_hba.conf'
  app.get('/boom', async () => {
    throw new Error(INTERNALS)
  })
  app.get('/boom-sync', () => {
    throw new TypeError(`Cannot read properties of undefined (${INTERNALS})`)
  })
  await app.ready()

  for (const url of ['/boom', '/boom-sync']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 500, url)
    const body = res.json<Json>()
    t.same(body, { error: 'server_error', error_description: 'Internal server error', detail: 'Internal server error' }, `${url}: a fixed body`)
    t.notMatch(res.body, INTERNALS, `${url}: no message in the body`)
    t.notMatch(res.body, /\bat \S+ \(|\.ts:\d+/, `${url}: no stack in the body`)
  }

  const parsed = parseLines(lines.join(''))
  const errors = parsed.filter((line) => line.level === 50)
  t.equal(errors.length, 2, 'each unexpected error logged once at level error')
  for (const line of errors) {
    t.type(line.reqId, 'string', 'with the request id')
    const err = line.err
    t.ok(typeof err === 'object' && err !== null, 'with the error')
    const message = typeof err === 'object' && err !== null ? (err as Json).message : undefined
    t.match(String(message), INTERNALS, 'the log keeps the real message')
    const incoming = parsed.find((l) => l.reqId === line.reqId && l.msg === 'incoming request')
    t.ok(incoming, 'the request id ties the error to its request')
    const req = incoming?.req
    const url = typeof req === 'object' && req !== null ? (req as Json).url : undefined
    t.match(String(url), /^\/boom/)
  }
  t.not(errors[0]?.reqId, errors[1]?.reqId, 'one id per request')

  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200, 'the app still serves')
})

t.test('no token, password or bad token reaches the logs; masked forms and the client IP do', async (t) => {
  // Counts are taken over this test's lines only; the hygiene checks cover the whole log.
  const start = built.logs().length
  const WRONG_PASSWORD = 'Sup3rSecret-wrong!'
  const BAD_TOKEN = 'Distinctive-Bad-Token-Value-0123456789-abcdefghij'

  // A good login over real HTTP with a form body, as curl sends it.
  const ok = await fetch(`${built.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'user', password: 'password' }) })
  t.equal(ok.status, 200)
  const tokens: unknown = await ok.json()
  const accessToken = typeof tokens === 'object' && tokens !== null ? (tokens as Json).access_token : undefined
  const refreshToken = typeof tokens === 'object' && tokens !== null ? (tokens as Json).refresh_token : undefined
  if (typeof accessToken !== 'string') throw new Error('no access token')
  const signature = accessToken.split('.')[2] ?? ''
  t.ok(signature.length > 20, 'the token has a signature part')

  const bad = await fetch(`${built.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'user', password: WRONG_PASSWORD }) })
  t.equal(bad.status, 401)
  const badJson = await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: WRONG_PASSWORD } })
  t.equal(badJson.statusCode, 401)

  const me = await fetch(`${built.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(me.status, 200)
  // A token in a query string of an HTTP route is not a credential there, but its URL is still logged.
  const meQuery = await fetch(`${built.url}/me?access_token=${accessToken}`)
  t.equal(meQuery.status, 401)

  const good = await TestSocket.connect(`${built.wsUrl}/ws?token=${accessToken}`)
  good.close()
  await closedWithin(good)

  const refused = await TestSocket.open(`${built.wsUrl}/ws?token=${BAD_TOKEN}`)
  const closed = await closedWithin(refused)
  t.equal(closed.code, 1008)
  t.equal(closed.reason, 'Invalid token')

  const logs = built.logs()
  const lines = parseLines(logs.slice(start))
  t.ok(lines.length > 5, `${lines.length} log lines`)

  t.notMatch(logs, accessToken, 'the access token is not logged')
  t.notMatch(logs, signature, 'its signature is not logged')
  if (typeof refreshToken === 'string') t.notMatch(logs, refreshToken, 'the refresh token is not logged')
  t.notMatch(logs, WRONG_PASSWORD, 'the wrong password is not logged')
  t.notMatch(logs, BAD_TOKEN, 'the bad token is not logged')
  t.notOk(keysOf(parseLines(logs)).has('password'), 'no log line has a password field')
  t.notOk(keysOf(parseLines(logs)).has('authorization'), 'no log line has an authorization header')

  const wsUrls = lines.map(requestUrl).filter((url): url is string => url?.startsWith('/ws') === true)
  t.ok(wsUrls.length >= 2, `the upgrade requests were logged: ${JSON.stringify(wsUrls)}`)
  for (const url of wsUrls) t.equal(url, '/ws?token=[redacted]')
  t.ok(lines.some((line) => requestUrl(line) === '/me?access_token=[redacted]'), 'the HTTP query token is redacted')

  const wsAuth = lines.filter((line) => typeof line.msg === 'string' && /websocket auth/i.test(line.msg))
  const succeeded = wsAuth.filter((line) => line.outcome === 'success')
  const failed = wsAuth.filter((line) => line.outcome === 'failure')
  t.equal(succeeded.length, 1, 'one successful socket auth logged')
  t.equal(failed.length, 1, 'one failed socket auth logged')
  for (const line of [...succeeded, ...failed]) {
    t.equal(line.ip, '127.0.0.1', 'with the client IP')
    t.type(line.token, 'string')
    t.match(String(line.token), '…', `masked: ${String(line.token)}`)
    t.ok(String(line.token).length <= 12, 'the mask keeps only a few characters')
  }
  t.equal(succeeded[0]?.user, 'user')

  const refusedLogin = lines.filter((line) => line.outcome === 'failure' && line.username === 'user')
  t.ok(refusedLogin.length >= 2, 'the failed logins are logged, by username')
  for (const line of refusedLogin) t.equal(line.ip, '127.0.0.1')
})

t.test('a percent-encoded query name is redacted too', async (t) => {
  // `%74oken` is `token` once decoded: the query parser finds the credential,
  // so the logged URL must not carry it in the clear.
  const { access_token: token } = await built.login()
  const socket = await TestSocket.open(`${built.wsUrl}/ws?%74oken=${token}`)
  const first = await Promise.race([socket.next().then((m) => String(m.type)), socket.closed.then((c) => `closed ${c.code}`)])
  socket.close()
  await closedWithin(socket)
  t.ok(first === 'connection_established' || first.startsWith('closed'), `outcome: ${first}`)
  t.notMatch(built.logs(), token, 'the token is not logged')
  t.notMatch(built.logs(), token.split('.')[2] ?? token, 'nor its signature')
})

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('/ws?token=abc.def.ghi'), '/ws?token=[redacted]')
  t.equal(redactUrl('/ws?access_token=abc'), '/ws?access_token=[redacted]')
  t.equal(redactUrl('/x?refresh_token=abc'), '/x?refresh_token=[redacted]')
  t.equal(redactUrl('/x?password=hunter2'), '/x?password=[redacted]')
  t.equal(redactUrl('/ws?a=1&token=abc&b=2'), '/ws?a=[redacted]&token=[redacted]&b=[redacted]', 'other parameter names are kept, no value')
  t.equal(redactUrl('/ws?token=a&token=b'), '/ws?token=[redacted]&token=[redacted]', 'every occurrence')
  t.equal(redactUrl('/ws?TOKEN=abc&Access_Token=def'), '/ws?TOKEN=[redacted]&Access_Token=[redacted]', 'case-insensitive')
  t.equal(redactUrl('/ws?token=abc#frag'), '/ws?token=[redacted]#[redacted]')
  t.equal(redactUrl('/ws?token='), '/ws?token=[redacted]')
  t.equal(redactUrl('/ws?channel=token&x=1'), '/ws?channel=[redacted]&x=[redacted]', 'no value is logged')
  t.equal(redactUrl('/health'), '/health')
  t.equal(redactUrl('/ws?mytoken=abc'), '/ws?mytoken=[redacted]', 'whatever the name')
  t.notMatch(redactUrl('/ws?%74oken=secret-value'), 'secret-value', 'a percent-encoded name is still a token')
  t.notMatch(redactUrl('/ws?%74%6F%6B%65%6E=secret-value'), 'secret-value', 'fully percent-encoded name')
})

t.test('query-string tokens, however spelled', async (t) => {
  t.test('no spelling of a token in a query string reaches the log', async (t) => {
    // Counts are taken over this test's lines only; the hygiene checks cover the whole log.
    const start = built.logs().length
    const { access_token: token } = await built.login()
    const signature = token.split('.')[2] ?? ''
    t.equal(signature.length, 43, 'an HS256 signature to look for')

    for (const query of spellings(token)) {
      for (const path of ['/me', '/health', '/no-such-route']) {
        const res = await fetch(`${built.url}${path}?${query}`)
        await res.arrayBuffer()
      }
      const socket = await TestSocket.open(`${built.wsUrl}/ws?${query}`)
      socket.close()
      await closedWithin(socket)
    }
    // The socket credentials the server does read, so that its auth lines are in the log too.
    const good = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    good.send({ type: 'refresh', token })
    good.close()
    await closedWithin(good)
    const viaMessage = await TestSocket.open(`${built.wsUrl}/ws`)
    viaMessage.send({ type: 'authenticate', token })
    await viaMessage.next()
    viaMessage.close()
    await closedWithin(viaMessage)

    const logs = built.logs()
    const lines = parseLines(logs.slice(start))
    t.notOk(logs.includes(signature), 'the token\'s signature appears in no log line')
    t.notOk(logs.includes(token.split('.')[1] ?? token), 'nor its payload')

    const urls = lines.map(requestUrl).filter((url): url is string => url !== undefined)
    // (/health is not request-logged: probes would drown the log.)
    for (const path of ['/me?', '/no-such-route?', '/ws?']) {
      t.ok(urls.filter((url) => url.startsWith(path)).length >= spellings('').length, `every ${path} request was logged`)
    }
    // Counted rather than asserted one by one, so that a failure does not print the token itself.
    const allUrls = parseLines(logs).map(requestUrl).filter((url): url is string => url !== undefined)
    const withValues = allUrls.filter((url) => /=(?!\[redacted\])(?:[^&]|$)/.test(url))
    t.same(withValues.map((url) => url.split('?')[0]), [], 'no logged URL carries a query value')
    const wsAuth = lines.filter((line) => typeof line.msg === 'string' && /websocket auth|refresh/i.test(line.msg))
    t.ok(wsAuth.length >= 2, `${wsAuth.length} WebSocket auth lines`)
    for (const line of wsAuth) t.ok(typeof line.token === 'string' && String(line.token).length <= 12, `masked: ${String(line.token)}`)
  })

  t.test('redactUrl keeps the path and short parameter names, never a value', async (t) => {
    t.equal(redactUrl('/admin/audit?outcome=failure&limit=20'), '/admin/audit?outcome=[redacted]&limit=[redacted]')
    t.equal(redactUrl('/ws?a=1;token=abc'), '/ws?a=[redacted]')
    t.equal(redactUrl('/ws?to+ken=abc'), '/ws?to+ken=[redacted]')
    t.equal(redactUrl('/ws?token%00=abc'), '/ws?token%00=[redacted]')
    t.equal(redactUrl('/ws?token[]=abc'), '/ws?token[]=[redacted]')
    t.equal(redactUrl('/ws?debug'), '/ws?debug', 'a short bare name stays')
    t.equal(redactUrl(`/ws?${'e'.repeat(40)}`), '/ws?[param]=[redacted]', 'a long bare name could be a token')
    t.equal(redactUrl(`/ws?${'e'.repeat(40)}=1`), '/ws?[param]=[redacted]')
    t.equal(redactUrl('/ws?x=1#token=abc'), '/ws?x=[redacted]#[redacted]', 'a fragment is dropped')
    t.equal(redactUrl('/ws#a?token=abc'), '/ws#[redacted]')
    t.equal(redactUrl('/health'), '/health')
    t.equal(redactUrl('/health?'), '/health?')
  })
})

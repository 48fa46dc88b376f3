import t from 'tap'
import type { AuditEvent } from '../../src/audit/events.js'
import { AUTH_REASONS, authOutcomeLabels } from '../../src/http/auth-metrics.js'
import { METRICS_OFF_IN_PRODUCTION } from '../../src/http/metrics.js'
import { build } from '../helper.js'
import { REDIS_TEST_URL, redisPrefix } from '../services.js'
import { TestSocket, closedWithin } from '../ws-client.js'

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }

/** The value of one sample line, `name{labels} value`, or undefined when absent. */
function sample (text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

t.test('GET /metrics is open without METRICS_TOKEN and reads the hub when scraped', async (t) => {
  const built = await build(t)
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${built.url}/metrics`)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    return await res.text()
  }
  const before = await scrape()
  t.equal(sample(before, 'wsgate_ws_connections'), 0, 'no sockets yet')
  t.ok((sample(before, 'wsgate_process_resident_memory_bytes') ?? 0) > 0, 'process metrics from prom-client')
  t.match(before, /instance_id="[^"]+"/, 'every sample names its instance')

  const { access_token: token } = await built.login()
  const a = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  const b = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  a.send({ type: 'chat' })
  await a.nextOfType('chat')
  await b.nextOfType('chat')
  const during = await scrape()
  t.equal(sample(during, 'wsgate_ws_connections'), 2)
  t.equal(sample(during, 'wsgate_ws_users'), 1)
  t.equal((sample(during, 'wsgate_ws_messages_received_total') ?? 0) - (sample(before, 'wsgate_ws_messages_received_total') ?? 0), 1, 'one message in')
  t.equal((sample(during, 'wsgate_ws_messages_delivered_total') ?? 0) - (sample(before, 'wsgate_ws_messages_delivered_total') ?? 0), 2, 'fanned out to both')
  t.equal(sample(during, 'wsgate_ws_handshakes_refused_total', 'cap="pendingPerIp"'), 0)
  a.close()
  b.close()
  await closedWithin(a)
  await closedWithin(b)
})

t.test('with METRICS_TOKEN a scrape needs it as a Bearer token', async (t) => {
  const secret = 'metrics-scrape-secret-0123456789'
  const built = await build(t, { METRICS_TOKEN: secret })
  const scrape = async (authorization?: string): Promise<Response> =>
    await fetch(`${built.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } })
  const missing = await scrape()
  t.equal(missing.status, 401)
  t.equal(missing.headers.get('www-authenticate'), 'Bearer')
  t.match(await missing.json(), { error: 'invalid_token' })
  const wrong = await scrape(`Bearer ${secret}x`)
  t.equal(wrong.status, 401)
  t.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
  const right = await scrape(`Bearer ${secret}`)
  t.equal(right.status, 200)
  t.match(await right.text(), /^# HELP /m)
  t.notOk(built.logs().includes(secret), 'the token is never logged')
})

t.test('production without METRICS_TOKEN does not serve /metrics, and says so once at start', async (t) => {
  const built = await build(t, PRODUCTION)
  const res = await fetch(`${built.url}/metrics`)
  t.equal(res.status, 404)
  t.equal(built.logs().split(METRICS_OFF_IN_PRODUCTION).length - 1, 1, 'one log line')
  t.match(built.logs(), /"level":40,[^\n]*METRICS_TOKEN is not set/, 'at warn level')

  const secret = 'production-metrics-secret-0123456789'
  const guarded = await build(t, { ...PRODUCTION, METRICS_TOKEN: secret })
  t.equal((await fetch(`${guarded.url}/metrics`)).status, 401, 'with the token set, a scrape without it gets 401')
  t.equal((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status, 200)
  t.notMatch(guarded.logs(), METRICS_OFF_IN_PRODUCTION)
})

t.test('auth attempts are counted by kind, outcome and a bounded reason', async (t) => {
  const built = await build(t)
  const scrape = async (): Promise<string> => await (await fetch(`${built.url}/metrics`)).text()
  const { access_token: token, refresh_token: refresh } = await built.login()
  t.equal((await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'wrong' } })).statusCode, 401)
  t.equal((await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'wrong' } })).statusCode, 401)
  t.equal((await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: `${refresh ?? ''}x` } })).statusCode, 400)
  const bad = await TestSocket.open(`${built.wsUrl}/ws?token=not-a-jwt`)
  t.same(await closedWithin(bad), { code: 1008, reason: 'Invalid token' })
  const good = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  good.close()
  await closedWithin(good)

  const text = await scrape()
  const attempts = (labels: string): number | undefined => sample(text, 'wsgate_auth_attempts_total', labels)
  t.equal(attempts('kind="password_grant",outcome="success",reason="none"'), 1)
  t.equal(attempts('kind="password_grant",outcome="failure",reason="bad_credentials"'), 2)
  t.equal(attempts('kind="refresh_grant",outcome="failure",reason="unknown_token"'), 1)
  t.equal(attempts('kind="ws_auth",outcome="failure",reason="invalid_token"'), 1)
  t.equal(attempts('kind="ws_auth",outcome="success",reason="query"'), 1)
  const reasons = [...text.matchAll(/^wsgate_auth_attempts_total\{[^}]*reason="([^"]*)"/gm)].map((m) => m[1]!)
  t.ok(reasons.length >= 5 && reasons.every((r) => AUTH_REASONS.includes(r)), `every reason is from the fixed set (${[...new Set(reasons)].join(', ')})`)
})

t.test('free-text audit reasons map to a fixed label set', async (t) => {
  const event = (kind: AuditEvent['kind'], outcome: AuditEvent['outcome'], reason: string | null): AuditEvent =>
    ({ kind, outcome, reason, username: 'alice', ip: '127.0.0.1', userAgent: null })
  t.same(authOutcomeLabels(event('admin_auth', 'success', 'admin token of alice')), { kind: 'admin_auth', outcome: 'success', reason: 'admin_token' }, 'no username in a label')
  t.same(authOutcomeLabels(event('admin_auth', 'success', 'admin PIN')), { kind: 'admin_auth', outcome: 'success', reason: 'pin' })
  t.equal(authOutcomeLabels(event('admin_auth', 'failure', 'locked out for 37 s after failed attempts'))?.reason, 'throttled', 'no number of seconds in a label')
  t.equal(authOutcomeLabels(event('password_grant', 'failure', 'throttled (ip)'))?.reason, 'throttled')
  t.equal(authOutcomeLabels(event('admin_auth', 'failure', 'token expired'))?.reason, 'expired')
  t.equal(authOutcomeLabels(event('ws_auth', 'failure', 'Invalid token payload (header)'))?.reason, 'invalid_payload')
  t.equal(authOutcomeLabels(event('ws_auth', 'failure', 'Session revoked (message)'))?.reason, 'revoked')
  t.equal(authOutcomeLabels(event('refresh_grant', 'failure', 'Refresh token was already used; the session is revoked'))?.reason, 'reused')
  t.equal(authOutcomeLabels(event('ws_auth', 'failure', 'something new and unforeseen'))?.reason, 'other', 'anything else is other')
  t.equal(authOutcomeLabels(event('ws_auth', 'success', 'carrier pigeon'))?.reason, 'other')
  t.equal(authOutcomeLabels(event('admin_action', 'success', 'kick alice')), undefined, 'admin actions are not auth attempts')
  t.equal(authOutcomeLabels(event('revoke', 'success', 'refresh token')), undefined, 'nor are revocations')
})

t.test('bcrypt queue depth, broker counters and event-loop delay are exported', async (t) => {
  // One worker at a cost that takes tens of milliseconds: the jobs behind the first wait in the queue.
  const built = await build(t, { BCRYPT_COST: '11' })
  const scrape = async (): Promise<string> => await (await fetch(`${built.url}/metrics`)).text()
  const jobs = [1, 2, 3].map(async (n) => await built.app.passwords.hash(`queued-password-${n}`))
  t.equal(built.app.passwords.queueDepth, 2, 'one job runs, two wait')
  t.equal(sample(await scrape(), 'wsgate_bcrypt_queue_depth'), 2, 'the gauge reads the queue while they wait')
  await Promise.all(jobs)
  const idle = await scrape()
  t.equal(sample(idle, 'wsgate_bcrypt_queue_depth'), 0, 'and drops to 0')
  t.equal(sample(idle, 'wsgate_broker_publish_errors_total'), 0)
  t.equal(sample(idle, 'wsgate_broker_healthy'), 1)
  t.equal(sample(idle, 'wsgate_broker_delivery_lag_seconds_count'), 0, 'the in-process broker has no remote deliveries')
  t.ok(sample(idle, 'wsgate_nodejs_eventloop_lag_p99_seconds') !== undefined, 'event-loop delay (p99) from prom-client')
  t.ok(sample(idle, 'wsgate_nodejs_eventloop_lag_seconds') !== undefined, 'and the current event-loop lag')
})

// Needs the Redis broker (REDIS_URL): events from the other instance are timed on arrival.
t.test('with REDIS_URL a message from another instance is observed as delivery lag', async (t) => {
  const env = { REDIS_URL: REDIS_TEST_URL, REDIS_KEY_PREFIX: redisPrefix() }
  const first = await build(t, env)
  const second = await build(t, { ...env }, { dir: first.dir })
  const { access_token: token } = await first.login()
  const receiver = await TestSocket.connect(`${second.wsUrl}/ws?token=${token}`)
  const sender = await TestSocket.connect(`${first.wsUrl}/ws?token=${token}`)
  sender.send({ type: 'chat', payload: { text: 'across' } })
  // The lag is observed as the event arrives, before the hub writes it to this socket.
  await receiver.nextOfType('chat')
  const text = await (await fetch(`${second.url}/metrics`)).text()
  t.ok((sample(text, 'wsgate_broker_delivery_lag_seconds_count') ?? 0) >= 1, 'the receiving instance timed the event')
  t.equal(sample(text, 'wsgate_broker_publish_errors_total'), 0)
  sender.close()
  receiver.close()
  await closedWithin(sender)
  await closedWithin(receiver)
})

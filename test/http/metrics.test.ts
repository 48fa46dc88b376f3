import t from 'tap'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

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

import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { build, tempDir, testEnv } from '../helper.js'

type Json = Record<string, unknown>

function parseLines (logs: string): Json[] {
  return logs.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Json)
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

import t from 'tap'
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js'
import { clamp } from '../../src/audit/sanitize.js'
import type { AuditEvent, AuditKind, AuditOutcome } from '../../src/audit/events.js'
import { AuditStore, type AuditRecord } from '../../src/store/audit.js'
import { build, tempDir, waitFor, type Built, type TestContext } from '../helper.js'
import { call, loginAdmin, loginRoot, type AuditItem } from '../admin/admin.js'

// The audit trail in one process: the AuditLog's batching over a fake writer,
// then over the real store across a restart, then GET /admin/audit over it.

/** Records every batch; `fail` makes the next writes throw; `gate` holds them until released. */
class FakeWriter {
  readonly batches: AuditRecord[][] = []
  started = 0
  fail = 0
  gate: Promise<void> | undefined

  async insertMany (records: readonly AuditRecord[]): Promise<void> {
    this.started++
    if (this.gate !== undefined) await this.gate
    if (this.fail > 0) {
      this.fail--
      throw Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY', statement: 'insert … secret-value' })
    }
    this.batches.push([...records])
  }

  get rows (): AuditRecord[] {
    return this.batches.flat()
  }
}

class FakeLogger {
  readonly lines: Array<{ level: 'warn' | 'error', obj: object, msg: string }> = []
  warn (obj: object, msg: string): void { this.lines.push({ level: 'warn', obj, msg }) }
  error (obj: object, msg: string): void { this.lines.push({ level: 'error', obj, msg }) }
}

function event (n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return { kind: 'password_grant', username: `u${n}`, ip: '10.0.0.1', userAgent: 'curl/8', outcome: 'failure', reason: 'bad password', ...overrides }
}

function setup (options: Partial<AuditLogOptions> = {}): { writer: FakeWriter, logger: FakeLogger, log: AuditLog } {
  const writer = new FakeWriter()
  const logger = new FakeLogger()
  // A long interval: these tests count statements, not time.
  const log = new AuditLog(writer, { log: logger, flushIntervalMs: 60_000, ...options })
  return { writer, logger, log }
}

t.test('record is synchronous; many events go out in few statements, in order', async (t) => {
  const { writer, log } = setup({ batchSize: 200 })
  for (let i = 0; i < 1000; i++) log.record(event(i))
  t.equal(writer.started, 0, 'nothing is written on the recording tick')
  await log.flush()
  t.equal(writer.batches.length, 5, '1000 events, 5 statements')
  t.ok(writer.batches.every((b) => b.length === 200))
  t.same(writer.rows.map((r) => r.username), Array.from({ length: 1000 }, (_, i) => `u${i}`), 'recording order kept')
  t.match(log.stats, { buffered: 0, written: 1000, statements: 5, dropped: 0, failures: 0 })
  await log.close()
})

t.test('a full batch is written without waiting for the timer', async (t) => {
  const { writer, log } = setup({ batchSize: 10 })
  for (let i = 0; i < 10; i++) log.record(event(i))
  await waitFor(() => writer.batches.length === 1, 1000, 'the size-triggered write')
  t.equal(writer.rows.length, 10)
  log.record(event(10))
  // A size-triggered write is queued with setImmediate ahead of this one, and the
  // fake writer records synchronously: one turn is enough to see it had it happened.
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(writer.batches.length, 1, 'a lone event waits for the timer')
  await log.close()
  t.equal(writer.batches.length, 2, 'close writes the rest')
})

t.test('a lone event is written when the timer fires', async (t) => {
  const { writer, log } = setup({ flushIntervalMs: 20 })
  log.record(event(1))
  log.record(event(2))
  await waitFor(() => writer.batches.length > 0, 2000, 'the timed write')
  t.same(writer.batches.map((b) => b.length), [2], 'both in one statement')
  t.match(writer.rows[0], { at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, kind: 'password_grant', username: 'u1', ip: '10.0.0.1', userAgent: 'curl/8', outcome: 'failure', reason: 'bad password' })
  await log.close()
})

t.test('events recorded during a write join the next statement of the same flush', async (t) => {
  const { writer, log } = setup({ batchSize: 100 })
  let release = (): void => {}
  writer.gate = new Promise((resolve) => { release = resolve })
  for (let i = 0; i < 100; i++) log.record(event(i))
  await waitFor(() => writer.started === 1, 1000, 'the first write')
  for (let i = 100; i < 250; i++) log.record(event(i))
  writer.gate = undefined
  release()
  await log.flush()
  t.same(writer.batches.map((b) => b.length), [100, 100, 50])
  await log.close()
})

t.test('a failed write is logged without its details, retried, and never thrown', async (t) => {
  const { writer, logger, log } = setup({ maxAttempts: 3 })
  writer.fail = 1
  t.doesNotThrow(() => { log.record(event(1)) })
  await log.flush()
  t.equal(log.stats.buffered, 1, 'kept for a retry')
  const [line] = logger.lines
  t.match(line, { level: 'error', msg: /will retry/, obj: { err: { message: 'SQLITE_BUSY: database is locked', code: 'SQLITE_BUSY' } } })
  t.notMatch(JSON.stringify(logger.lines), /secret-value/, 'driver fields are not logged')
  await log.flush()
  t.equal(writer.rows.length, 1, 'the retry wrote it')

  writer.fail = 3
  log.record(event(2))
  await log.flush()
  await log.flush()
  await log.flush()
  t.equal(log.stats.buffered, 0, 'dropped after the last attempt')
  t.match(log.stats, { written: 1, dropped: 1, failures: 4 })
  t.match(logger.lines.at(-1), { level: 'error', msg: /batch dropped/, obj: { lost: 1 } })
  await log.close()
})

t.test('the buffer is bounded: the oldest events go, with one warning', async (t) => {
  const { writer, logger, log } = setup({ batchSize: 100, maxBuffer: 300 })
  let release = (): void => {}
  writer.gate = new Promise((resolve) => { release = resolve })
  for (let i = 0; i < 100; i++) log.record(event(i))
  await waitFor(() => writer.started === 1, 1000, 'the first write')
  for (let i = 100; i < 1000; i++) log.record(event(i))
  // 100 are in the stalled statement; the buffer holds the newest 300.
  t.match(log.stats, { buffered: 300, dropped: 600 })
  t.equal(logger.lines.filter((l) => l.level === 'warn').length, 1, 'one warning, not one per event')
  writer.gate = undefined
  release()
  await log.flush()
  t.same(writer.rows.map((r) => r.username), [...Array.from({ length: 100 }, (_, i) => `u${i}`), ...Array.from({ length: 300 }, (_, i) => `u${i + 700}`)])
  t.match(logger.lines.at(-1), { level: 'warn', msg: /caught up/ })
  await log.close()
})

t.test('close writes what is buffered; later events are dropped with a warning', async (t) => {
  const { writer, logger, log } = setup()
  log.record(event(1))
  await log.close()
  t.equal(writer.rows.length, 1)
  log.record(event(2))
  await log.flush()
  t.equal(writer.rows.length, 1)
  t.match(logger.lines, [{ level: 'warn', msg: /after the log closed/ }])
})

t.test('close gives up on a batch that cannot be written instead of hanging', async (t) => {
  const { writer, logger, log } = setup()
  writer.fail = 100
  log.record(event(1))
  await log.close()
  t.match(log.stats, { buffered: 0, dropped: 1 })
  t.match(logger.lines.at(-1), { level: 'error' })
})

t.test('client-supplied text is fitted to its column', async (t) => {
  t.equal(clamp('a\u0000b\nc', 10), 'a\uFFFDb\uFFFDc', 'control characters replaced')
  t.equal(clamp('x'.repeat(600), 512).length, 512)
  t.equal(clamp(`${'x'.repeat(127)}😀`, 128), 'x'.repeat(127), 'a surrogate pair is not cut in half')
  const { writer, log } = setup()
  log.record(event(1, { username: 'u'.repeat(1000), ip: '1'.repeat(100), userAgent: 'a'.repeat(2000), reason: 'r'.repeat(2000) }))
  await log.close()
  const row = writer.rows[0]
  t.same([row?.username?.length, row?.ip.length, row?.userAgent?.length, row?.reason?.length], [128, 64, 512, 512])
})

t.test('over the real store', async (t) => {
  t.test('audit rows written before a graceful close survive a restart', async (t) => {
    const dir = tempDir(t)
    const first = await build(t, {}, { dir })
    const token = await loginAdmin(first)
    const created = await call(first, token, { method: 'POST', url: '/admin/users', payload: { username: 'bob', password: 'bob-password' } })
    t.equal(created.statusCode, 201)
    first.app.audit.record({ kind: 'ws_auth', username: 'ghost', ip: '203.0.113.9', userAgent: null, outcome: 'failure', reason: 'Invalid token' })
    t.ok(first.app.auditLog.stats.buffered > 0, 'still buffered: only close writes it')
    // No flush: the audit plugin's onClose must write before the db plugin's closes the file.
    await first.app.close()

    const second = await build(t, {}, { dir })
    const page = await second.app.auditQuery.page({ limit: 500 })
    t.match(page.items.find((i) => i.kind === 'ws_auth'), { username: 'ghost', ip: '203.0.113.9', outcome: 'failure', reason: 'Invalid token' })
    t.match(page.items.find((i) => i.kind === 'admin_action'), { username: 'root', outcome: 'success', reason: 'create user bob' })
    const again = await loginRoot(second)
    const res = await call(second, again, { method: 'GET', url: '/admin/audit?user=ghost' })
    t.equal(res.json<{ items: unknown[] }>().items.length, 1, 'and GET /admin/audit serves them')
  })

  // Shared by the next two tests; the last one breaks its database.
  const built = await build(t)

  t.test('the real store writes many events in few statements', async (t) => {
    // Whatever starting the app recorded is written first, so it cannot share these statements.
    await built.app.auditLog.flush()
    const before = built.app.auditLog.stats.statements
    for (let i = 0; i < 450; i++) {
      built.app.audit.record({ kind: 'password_grant', username: `bulk${i}`, ip: '127.0.0.1', userAgent: null, outcome: 'failure', reason: 'bulk' })
    }
    await built.app.auditLog.flush()
    t.equal(built.app.auditLog.stats.statements - before, 3, '450 events, batches of 200: 3 INSERTs')
    const rows = await built.app.db.selectFrom('audit_log').select(['username']).where('reason', '=', 'bulk').orderBy('id').execute()
    t.same(rows.map((r) => r.username), Array.from({ length: 450 }, (_, i) => `bulk${i}`))
  })

  t.test('a failed write is logged, and record never throws', async (t) => {
    await built.app.db.destroy()
    const failures = built.app.auditLog.stats.failures
    t.doesNotThrow(() => {
      built.app.audit.record({ kind: 'password_grant', username: 'alice', ip: '127.0.0.1', userAgent: null, outcome: 'failure', reason: 'Incorrect username or password' })
    })
    await built.app.auditLog.flush()
    t.equal(built.app.auditLog.stats.failures - failures, 1)
    const line = built.logs().split('\n').find((l) => l.includes('audit log write failed'))
    t.ok(line, 'the failure is logged')
    t.match(JSON.parse(line ?? '{}'), { level: 50, component: 'audit', err: { message: String }, events: 1 })
    t.notMatch(line, /alice|Incorrect/, 'the event itself is not in the log line')
  })
})

interface Page {
  items: AuditItem[]
  next: number | null
}

type Get = (query: string) => Promise<{ status: number, body: Page & { error?: string } }>

/** 30 rows at known times, one minute apart from 2025-01-01T00:00Z, oldest first. */
async function seed (built: Built): Promise<AuditRecord[]> {
  const kinds: AuditKind[] = ['password_grant', 'ws_auth', 'refresh_grant']
  const records = Array.from({ length: 30 }, (_, i): AuditRecord => ({
    at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
    kind: kinds[i % 3] ?? 'password_grant',
    username: i % 2 === 0 ? 'alice' : 'mallory',
    ip: `10.0.0.${i}`,
    userAgent: i === 0 ? null : 'curl/8',
    outcome: (i % 5 === 0 ? 'success' : 'failure') as AuditOutcome,
    reason: i % 5 === 0 ? null : 'Incorrect username or password'
  }))
  await new AuditStore(built.app.db).insertMany(records)
  return records
}

async function seededApp (t: TestContext): Promise<{ built: Built, get: Get }> {
  const built = await build(t)
  // Whatever logging in records is written before the seeded rows, so their ids come after it.
  const token = await loginAdmin(built)
  await built.app.auditLog.flush()
  await seed(built)
  const get: Get = async (query) => {
    const res = await call(built, token, { method: 'GET', url: `/admin/audit${query}` })
    return { status: res.statusCode, body: res.json() }
  }
  return { built, get }
}

// One seeded app for these: only the first adds a row, one from now without a
// user, which no filter below can match.
t.test('GET /admin/audit', async (t) => {
  const { built, get } = await seededApp(t)

  t.test('newest first, default limit 50, every field of the event', async (t) => {
    built.app.audit.record({ kind: 'revoke', username: null, ip: '192.0.2.1', userAgent: 'ua', outcome: 'success', reason: null })
    await built.app.auditLog.flush()
    const { status, body } = await get('')
    t.equal(status, 200)
    t.match(body.items[0], { kind: 'revoke', username: null, ip: '192.0.2.1', userAgent: 'ua', outcome: 'success', reason: null, at: String, id: Number })
    t.equal(body.items[1]?.ip, '10.0.0.29')
    t.same(body.items.slice(1, 31).map((i) => i.ip), Array.from({ length: 30 }, (_, i) => `10.0.0.${29 - i}`), 'then the seeded rows')
    t.equal(body.next, null, 'everything fits the default page of 50')
    const ids = body.items.map((i) => i.id)
    t.same(ids, [...ids].sort((a, b) => b - a), 'ids descend')
  })

  t.test('filters: user, outcome, kind and time, combined', async (t) => {
    const ips = (page: Page): string[] => page.items.map((i) => i.ip)
    const mallory = await get('?user=mallory')
    t.equal(mallory.body.items.length, 15)
    t.ok(mallory.body.items.every((i) => i.username === 'mallory'))
    const successes = await get('?outcome=success&to=2025-01-02')
    t.same(ips(successes.body), ['10.0.0.25', '10.0.0.20', '10.0.0.15', '10.0.0.10', '10.0.0.5', '10.0.0.0'])
    const ws = await get('?kind=ws_auth&user=alice')
    t.same(ips(ws.body), ['10.0.0.28', '10.0.0.22', '10.0.0.16', '10.0.0.10', '10.0.0.4'])
    const window = await get('?from=2025-01-01T00:10:00Z&to=2025-01-01T00:13:00Z')
    t.same(ips(window.body), ['10.0.0.12', '10.0.0.11', '10.0.0.10'], 'from inclusive, to exclusive')
    const offset = await get(`?from=${encodeURIComponent('2025-01-01T01:10:00+01:00')}&to=2025-01-01T00:11:00.000Z`)
    t.same(ips(offset.body), ['10.0.0.10'], 'zone offsets are normalised to UTC')
    const day = await get('?from=2025-01-01&to=2025-01-02')
    t.equal(day.body.items.length, 30, 'a date alone is midnight UTC')
    const none = await get('?user=nobody')
    t.same(none.body, { items: [], next: null })
  })

  t.test('keyset paging with before walks every row once', async (t) => {
    const seen: string[] = []
    let cursor: number | null = null
    let pages = 0
    do {
      const res: { status: number, body: Page } = await get(`?user=alice&limit=4${cursor === null ? '' : `&before=${cursor}`}`)
      t.equal(res.status, 200)
      t.ok(res.body.items.length <= 4)
      seen.push(...res.body.items.map((i) => i.ip))
      cursor = res.body.next
      pages++
    } while (cursor !== null && pages < 10)
    t.equal(pages, 4, '15 rows in pages of 4')
    t.same(seen, Array.from({ length: 15 }, (_, i) => `10.0.0.${28 - 2 * i}`), 'newest first, no gaps, no repeats')
    const exact = await get('?user=alice&limit=15')
    t.equal(exact.body.next, null, 'no cursor when the last page is exactly full')
    const big = await get('?limit=500')
    t.equal(big.status, 200)
  })

  t.test('bad query parameters are 400 invalid_request', async (t) => {
    for (const query of ['?limit=0', '?limit=501', '?limit=abc', '?limit=1.5', '?before=0', '?before=x', '?outcome=maybe', '?kind=login',
      '?from=yesterday', '?from=2025-01-01T00:00:00', '?to=2025-13-45T99:99:99Z', '?limit=5&limit=6']) {
      const res = await get(query)
      t.equal(res.status, 400, query)
      t.equal(res.body.error, 'invalid_request', query)
    }
  })
})

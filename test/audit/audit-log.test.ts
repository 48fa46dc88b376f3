import t from 'tap'
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js'
import { clamp } from '../../src/audit/sanitize.js'
import type { AuditEvent } from '../../src/audit/events.js'
import type { AuditRecord } from '../../src/store/audit.js'
import { waitFor } from '../helper.js'

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

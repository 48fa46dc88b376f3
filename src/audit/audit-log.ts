import type { AuditRecord } from '../store/audit.js'
import type { AuditEvent, AuditSink } from './events.js'
import { describeError, toRecord } from './sanitize.js'

/** Where batches go: the AuditStore, or a fake in tests. */
export interface AuditWriter {
  insertMany (records: readonly AuditRecord[]): Promise<void>
}

/** The slice of a pino logger the log needs. */
export interface AuditLogger {
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface AuditLogOptions {
  readonly log: AuditLogger
  /** How long a lone event may wait before it is written. */
  readonly flushIntervalMs?: number
  /** A batch this big is written at once, and no statement writes more. */
  readonly batchSize?: number
  /** Past this many unwritten events the oldest are dropped, so a dead database cannot exhaust memory. */
  readonly maxBuffer?: number
  /** Attempts per batch before it is dropped, so one bad batch cannot block the rest forever. */
  readonly maxAttempts?: number
}

export interface AuditLogStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  /** INSERT statements issued, successful or not. */
  readonly statements: number
  readonly failures: number
}

/**
 * The audit sink. `record` only pushes into a buffer, so the request path
 * never waits on the database; a timer or a full batch writes the buffer in
 * one INSERT per batch. A failed write is logged and retried, never thrown.
 */
export class AuditLog implements AuditSink {
  private buffer: AuditRecord[] = []
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private flushing: Promise<void> | undefined
  private closed = false
  private overflowing = false
  private attempts = 0
  private readonly counts = { written: 0, dropped: 0, statements: 0, failures: 0 }
  private readonly log: AuditLogger
  private readonly flushIntervalMs: number
  private readonly batchSize: number
  private readonly maxBuffer: number
  private readonly maxAttempts: number

  constructor (private readonly writer: AuditWriter, options: AuditLogOptions) {
    this.log = options.log
    this.flushIntervalMs = options.flushIntervalMs ?? 250
    this.batchSize = options.batchSize ?? 200
    this.maxBuffer = Math.max(options.maxBuffer ?? 10_000, this.batchSize)
    this.maxAttempts = options.maxAttempts ?? 3
  }

  get stats (): AuditLogStats {
    return { buffered: this.buffer.length, ...this.counts }
  }

  record (event: AuditEvent): void {
    if (this.closed) {
      this.counts.dropped++
      this.log.warn({ kind: event.kind, outcome: event.outcome }, 'audit event recorded after the log closed; dropped')
      return
    }
    this.buffer.push(toRecord(event, new Date()))
    this.trim()
    // A full batch need not wait for the timer, but is still written on a later
    // turn: the caller's tick never builds a statement. A running flush picks
    // up whatever arrives meanwhile.
    if (this.buffer.length >= this.batchSize && this.flushing === undefined && this.immediate === undefined) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined
        void this.flush()
      })
    }
    this.schedule()
  }

  /**
   * Resolves once everything buffered so far has had a write attempt; never
   * rejects. What failed stays buffered for the next tick (see maxAttempts).
   */
  async flush (): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
    if (this.buffer.length === 0) return
    this.flushing = this.drain().finally(() => { this.flushing = undefined })
    await this.flushing
  }

  /** Stops the timer and writes what is left: the last thing before the database closes. */
  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
    await this.flush()
    if (this.buffer.length > 0) {
      this.counts.dropped += this.buffer.length
      this.log.error({ lost: this.buffer.length }, 'audit events could not be written before shutdown')
      this.buffer = []
    }
  }

  private schedule (): void {
    if (this.timer !== undefined || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, this.flushIntervalMs)
    // A pending audit write must not keep a CLI or a test process alive.
    this.timer.unref()
  }

  private async drain (): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize)
      this.counts.statements++
      try {
        await this.writer.insertMany(batch)
      } catch (err) {
        this.fail(batch, err)
        // Retry on the next tick rather than spin against a database that is down.
        this.schedule()
        return
      }
      this.attempts = 0
      this.counts.written += batch.length
    }
    if (this.overflowing) {
      this.overflowing = false
      this.log.warn({ droppedTotal: this.counts.dropped }, 'audit log caught up after dropping events')
    }
  }

  private fail (batch: AuditRecord[], err: unknown): void {
    this.counts.failures++
    this.attempts++
    if (this.attempts >= this.maxAttempts || this.closed) {
      this.attempts = 0
      this.counts.dropped += batch.length
      this.log.error({ err: describeError(err), lost: batch.length }, 'audit log write failed; batch dropped')
      return
    }
    this.log.error({ err: describeError(err), events: batch.length, attempt: this.attempts }, 'audit log write failed; will retry')
    this.buffer = batch.concat(this.buffer)
    this.trim()
  }

  /** Drops the oldest events past the bound; warns once per overflow, not once per event. */
  private trim (): void {
    const excess = this.buffer.length - this.maxBuffer
    if (excess <= 0) return
    this.buffer.splice(0, excess)
    this.counts.dropped += excess
    if (!this.overflowing) {
      this.overflowing = true
      this.log.warn({ maxBuffer: this.maxBuffer }, 'audit log buffer full: dropping the oldest events')
    }
  }
}

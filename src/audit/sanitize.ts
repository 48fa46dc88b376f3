import type { AuditRecord } from '../store/audit.js'
import type { AuditEvent } from './events.js'

/** Column widths of audit_log (migration 0003). */
const WIDTH = { username: 128, ip: 64, userAgent: 512, reason: 512 } as const

/**
 * Fits a client-supplied string to its column: control characters (a NUL
 * breaks Postgres text, a newline breaks whoever reads the log in a terminal)
 * become U+FFFD, and a cut never splits a surrogate pair.
 */
export function clamp (value: string, width: number): string {
  let s = value.replace(/[\u0000-\u001f\u007f]/g, '\uFFFD')
  if (s.length <= width) return s
  s = s.slice(0, width)
  return /[\uD800-\uDBFF]$/.test(s) ? s.slice(0, -1) : s
}

function clampOrNull (value: string | null, width: number): string | null {
  return value === null ? null : clamp(value, width)
}

/** Only the message and code: a driver error may carry the statement and its values. */
export function describeError (err: unknown): { message: string, code?: string } {
  if (!(err instanceof Error)) return { message: String(err) }
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? { message: err.message, code } : { message: err.message }
}

/** The row for an event, stamped with the time it was recorded and fitted to the columns. */
export function toRecord (event: AuditEvent, at: Date): AuditRecord {
  return {
    at: at.toISOString(),
    kind: event.kind,
    username: clampOrNull(event.username, WIDTH.username),
    ip: clamp(event.ip, WIDTH.ip),
    userAgent: clampOrNull(event.userAgent, WIDTH.userAgent),
    outcome: event.outcome,
    reason: clampOrNull(event.reason, WIDTH.reason)
  }
}

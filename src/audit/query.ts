import { ApiError } from '../errors.js'
import type { AuditEntry, AuditStore } from '../store/audit.js'
import type { AuditKind, AuditOutcome } from './events.js'

export const DEFAULT_AUDIT_LIMIT = 50
export const MAX_AUDIT_LIMIT = 500

/** What `GET /admin/audit` accepts, already shaped by its schema. */
export interface AuditQueryParams {
  readonly user?: string
  /** The client address exactly as recorded. */
  readonly ip?: string
  readonly outcome?: AuditOutcome
  readonly kind?: AuditKind
  /** ISO-8601; inclusive. */
  readonly from?: string
  /** ISO-8601; exclusive, so that consecutive windows do not overlap. */
  readonly to?: string
  readonly limit?: number
  /** The `next` of the previous page. */
  readonly before?: number
}

export interface AuditPage {
  readonly items: AuditEntry[]
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly next: number | null
}

/**
 * Stored times are `toISOString()` text, so a filter bound must be too:
 * only then does comparing strings compare instants.
 */
function normalizeTime (value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined
  const time = new Date(value)
  if (Number.isNaN(time.getTime())) throw new ApiError('invalidRequest', `${name} is not a valid ISO-8601 time`)
  return time.toISOString()
}

/** Reads the audit log a page at a time, newest first. */
export class AuditQuery {
  constructor (private readonly store: Pick<AuditStore, 'find'>) {}

  async page (params: AuditQueryParams): Promise<AuditPage> {
    const limit = Math.min(Math.max(params.limit ?? DEFAULT_AUDIT_LIMIT, 1), MAX_AUDIT_LIMIT)
    const from = normalizeTime(params.from, 'from')
    const to = normalizeTime(params.to, 'to')
    // One row more than asked says whether another page exists without a count query.
    const rows = await this.store.find({
      ...(params.user !== undefined ? { username: params.user } : {}),
      ...(params.ip !== undefined ? { ip: params.ip } : {}),
      ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
      ...(params.kind !== undefined ? { kind: params.kind } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(params.before !== undefined ? { before: params.before } : {}),
      limit: limit + 1
    })
    const items = rows.slice(0, limit)
    const last = items[items.length - 1]
    return { items, next: rows.length > limit && last !== undefined ? last.id : null }
  }
}

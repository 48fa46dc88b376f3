import type { Selectable } from 'kysely'
import type { AuditEvent, AuditKind, AuditOutcome } from '../audit/events.js'
import type { Db } from './db.js'
import type { AuditLogTable } from './schema.js'

/** An event as it is written: the AuditEvent plus the time it was recorded. */
export interface AuditRecord extends AuditEvent {
  readonly at: string
}

export interface AuditEntry extends AuditRecord {
  readonly id: number
}

/** Every field optional except `limit`; times are ISO-8601 UTC, `from` inclusive, `to` exclusive. */
export interface AuditFilter {
  readonly username?: string
  readonly ip?: string
  readonly outcome?: AuditOutcome
  readonly kind?: AuditKind
  readonly from?: string
  readonly to?: string
  /** Only rows with a smaller id: the keyset cursor. */
  readonly before?: number
  readonly limit: number
}

function toEntry (row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    // Written only from the typed union; a foreign value is shown as stored.
    kind: row.kind as AuditKind,
    username: row.username,
    ip: row.ip,
    userAgent: row.user_agent,
    outcome: row.outcome as AuditOutcome,
    reason: row.reason
  }
}

/** The audit_log table. Knows SQL; knows nothing of batching or HTTP. */
export class AuditStore {
  constructor (private readonly db: Db) {}

  /** One INSERT statement for the whole batch. */
  async insertMany (records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return
    await this.db.insertInto('audit_log').values(records.map((r) => ({
      at: r.at,
      kind: r.kind,
      username: r.username,
      ip: r.ip,
      user_agent: r.userAgent,
      outcome: r.outcome,
      reason: r.reason
    }))).execute()
  }

  /** Newest first (by id, which follows recording order). */
  async find (filter: AuditFilter): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll()
    if (filter.username !== undefined) query = query.where('username', '=', filter.username)
    if (filter.ip !== undefined) query = query.where('ip', '=', filter.ip)
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome)
    if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind)
    if (filter.from !== undefined) query = query.where('at', '>=', filter.from)
    if (filter.to !== undefined) query = query.where('at', '<', filter.to)
    if (filter.before !== undefined) query = query.where('id', '<', filter.before)
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute()
    return rows.map(toEntry)
  }
}

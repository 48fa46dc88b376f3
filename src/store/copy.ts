import { sql, type Insertable, type Selectable, type Transaction } from 'kysely'
import type { Db, Engine } from './db.js'
import type { AuditLogTable, Database, RefreshTokensTable, SessionsTable, UsersTable } from './schema.js'

/** Per table: rows inserted, and rows left alone because the target has one with that key. */
export interface TableCopy {
  readonly copied: number
  readonly skipped: number
}

export interface CopySummary {
  readonly users: TableCopy
  readonly sessions: TableCopy
  readonly refreshTokens: TableCopy
  readonly auditRows: TableCopy
  /** Whether the target held any row before the copy. */
  readonly targetHadRows: boolean
}

/** The target holds rows and lacks some of the source's, and `force` was not given. Nothing was written. */
export class TargetNotEmptyError extends Error {
  constructor (readonly summary: CopySummary) {
    super('The target database already holds data and lacks some of the source\'s rows')
    this.name = 'TargetNotEmptyError'
  }
}

export interface CopyOptions {
  /** Copy into a target that already holds rows: insert what it lacks, keep every row it has. */
  readonly force: boolean
  readonly targetEngine: Engine
  /** Sessions that expire before this are not copied. Default: now. */
  readonly now?: Date
}

/** Rows per INSERT: eight audit columns × 500 stays far below either engine's parameter limit. */
const BATCH = 500

function chunks<T> (rows: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH))
  return out
}

function total (summary: CopySummary): number {
  return summary.users.copied + summary.sessions.copied + summary.refreshTokens.copied + summary.auditRows.copied
}

async function hasRows (trx: Transaction<Database>): Promise<boolean> {
  for (const table of ['users', 'sessions', 'refresh_tokens', 'audit_log'] as const) {
    if (await trx.selectFrom(table).select(sql<number>`1`.as('one')).limit(1).executeTakeFirst() !== undefined) return true
  }
  return false
}

/**
 * Users keep their ids where the target has them free. A user whose id the
 * target already gives to another name gets a new id: nothing refers to user
 * ids (sessions and audit rows name users by username).
 */
async function copyUsers (trx: Transaction<Database>, rows: readonly Selectable<UsersTable>[]): Promise<TableCopy> {
  let copied = 0
  for (const batch of chunks(rows)) {
    const inserted = await trx.insertInto('users').values(batch).onConflict((oc) => oc.doNothing()).returning('username').execute()
    const done = new Set(inserted.map((r) => r.username))
    copied += done.size
    for (const row of batch.filter((r) => !done.has(r.username))) {
      const { id: _id, ...withoutId } = row
      const again = await trx.insertInto('users').values(withoutId).onConflict((oc) => oc.column('username').doNothing()).returning('username').executeTakeFirst()
      if (again !== undefined) copied++
    }
  }
  return { copied, skipped: rows.length - copied }
}

async function copySessions (trx: Transaction<Database>, rows: readonly Insertable<SessionsTable>[]): Promise<TableCopy> {
  let copied = 0
  for (const batch of chunks(rows)) {
    copied += (await trx.insertInto('sessions').values(batch).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute()).length
  }
  return { copied, skipped: rows.length - copied }
}

async function copyRefreshTokens (trx: Transaction<Database>, rows: readonly Insertable<RefreshTokensTable>[]): Promise<TableCopy> {
  let copied = 0
  for (const batch of chunks(rows)) {
    copied += (await trx.insertInto('refresh_tokens').values(batch).onConflict((oc) => oc.column('token_hash').doNothing()).returning('token_hash').execute()).length
  }
  return { copied, skipped: rows.length - copied }
}

/** The audit log, read a batch at a time in id order so a long log is never held whole; ids are kept. */
async function copyAudit (from: Db, trx: Transaction<Database>): Promise<TableCopy> {
  let copied = 0
  let seen = 0
  let after = 0
  for (;;) {
    const batch: Selectable<AuditLogTable>[] = await from.selectFrom('audit_log').selectAll().where('id', '>', after).orderBy('id').limit(BATCH).execute()
    const last = batch[batch.length - 1]
    if (last === undefined) break
    seen += batch.length
    after = last.id
    copied += (await trx.insertInto('audit_log').values(batch).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute()).length
  }
  return { copied, skipped: seen - copied }
}

/**
 * Rows inserted with explicit ids leave a Postgres serial sequence behind
 * them; the next insert would take id 1 again and fail. Set each to follow
 * the largest id.
 */
async function resetSequences (trx: Transaction<Database>): Promise<void> {
  for (const table of ['users', 'audit_log'] as const) {
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce((select max(id) from ${sql.table(table)}), 0) + 1, false)`.execute(trx)
  }
}

/**
 * Copies users, live sessions (not revoked, not expired) with every refresh
 * token row they have (rotated ones too, so that reuse is still recognised),
 * and the audit log, keeping keys and hashes: tokens issued by the source
 * keep working on the target. One transaction on the target, so a refused
 * or failed copy writes nothing. Rows are matched by key (users by name,
 * sessions by id, refresh tokens by hash, audit rows by id) and a row the
 * target already has is never changed: running it again copies nothing.
 */
export async function copyDatabase (from: Db, to: Db, options: CopyOptions): Promise<CopySummary> {
  const now = (options.now ?? new Date()).toISOString()
  const users = await from.selectFrom('users').selectAll().orderBy('id').execute()
  const sessions = await from.selectFrom('sessions').selectAll()
    .where('revoked_at', 'is', null).where('expires_at', '>', now).orderBy('id').execute()
  const refreshTokens = await from.selectFrom('refresh_tokens').innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .selectAll('refresh_tokens')
    .where('sessions.revoked_at', 'is', null).where('sessions.expires_at', '>', now).orderBy('refresh_tokens.token_hash').execute()

  return await to.transaction().execute(async (trx) => {
    const targetHadRows = await hasRows(trx)
    const summary: CopySummary = {
      users: await copyUsers(trx, users),
      sessions: await copySessions(trx, sessions),
      refreshTokens: await copyRefreshTokens(trx, refreshTokens),
      auditRows: await copyAudit(from, trx),
      targetHadRows
    }
    // Thrown inside the transaction, so everything above is rolled back.
    if (targetHadRows && !options.force && total(summary) > 0) throw new TargetNotEmptyError(summary)
    if (options.targetEngine === 'postgres') await resetSequences(trx)
    return summary
  })
}

/** Whether the copy changed nothing: the target already had every row. */
export function copiedNothing (summary: CopySummary): boolean {
  return total(summary) === 0
}

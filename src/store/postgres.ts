import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'
import type { Database } from './schema.js'
import { migrateToLatest } from './migrations.js'

export interface PostgresOptions {
  /** Connections this process keeps at most (DATABASE_POOL_SIZE). */
  readonly poolSize: number
  /** An idle pooled connection failed (server restart, network); the pool replaces it. */
  readonly onIdleError: (err: Error) => void
}

/**
 * Our own lock key for the whole migration run, taken before Kysely's
 * Migrator creates its bookkeeping tables: two instances starting at once on
 * an empty database must not both run `create table`. Any constant works;
 * this one is "wsgate" in ASCII.
 */
const MIGRATION_LOCK_KEY = 0x777367617465

/**
 * Runs the migrations on one connection that holds a session-level advisory
 * lock meanwhile: the second instance waits on the lock, then finds every
 * migration applied. Kysely's Migrator takes a lock of its own around the
 * migrations, but only after it has checked for and created its tables
 * (`kysely_migration`, `kysely_migration_lock`) unlocked; it survives a
 * lost race there only by catching the error and looking again, which this
 * makes unnecessary. One connection, so a pool of one cannot deadlock.
 */
async function migrateUnderLock (db: Kysely<Database>): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn)
    try {
      await migrateToLatest(conn as Kysely<unknown>, 'postgres')
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn)
    }
  })
}

/** A pool of connections to `postgres://…`, migrated under a lock. */
export async function openPostgres (databaseUrl: string, options: PostgresOptions): Promise<Kysely<Database>> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize })
  // Without a listener an idle connection's error would be thrown as an
  // uncaught 'error' event and end the process.
  pool.on('error', options.onIdleError)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    await migrateUnderLock(db)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return db
}

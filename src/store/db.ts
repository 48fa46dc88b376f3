import type { Kysely } from 'kysely'
import type { Database } from './schema.js'

export type Db = Kysely<Database>

export type Engine = 'sqlite' | 'postgres'

export interface OpenOptions {
  /** Postgres connections kept at most (DATABASE_POOL_SIZE); SQLite has one. Default 10. */
  readonly poolSize?: number
  /** Told of a failed idle Postgres connection, which the pool then replaces. Default: ignored. */
  readonly onIdleError?: (err: Error) => void
}

export const DEFAULT_POOL_SIZE = 10

/** Which engine a DATABASE_URL names: `postgres://` or `postgresql://`, else a SQLite file. */
export function engineOf (databaseUrl: string): Engine {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? 'postgres' : 'sqlite'
}

/**
 * Opens the database named by DATABASE_URL and brings its schema up to date.
 * Every store runs the same Kysely queries on either engine; docs/STORAGE.md
 * says why the schema is the same on both.
 */
export async function openDb (databaseUrl: string, options: OpenOptions = {}): Promise<Db> {
  // Each engine's driver is loaded only when used: the users CLI starts in a fraction of the time.
  if (engineOf(databaseUrl) === 'sqlite') return await (await import('./sqlite.js')).openSqlite(databaseUrl)
  const { openPostgres } = await import('./postgres.js')
  return await openPostgres(databaseUrl, {
    poolSize: options.poolSize ?? DEFAULT_POOL_SIZE,
    onIdleError: options.onIdleError ?? (() => {})
  })
}

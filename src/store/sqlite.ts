import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely'
import type { Database } from './schema.js'
import { migrateToLatest } from './migrations.js'

/** `sqlite:./data/wsgate.db`, `sqlite:///abs/path.db` or `sqlite:relative.db` → a file path. */
export function sqlitePath (databaseUrl: string): string {
  const rest = databaseUrl.replace(/^sqlite:(\/\/)?/, '')
  if (rest === '') throw new Error('DATABASE_URL names no SQLite file')
  return resolve(rest)
}

/** Distinct statements kept; `IN (…)` lists of many sizes must not grow it without bound. */
const STATEMENT_CACHE_SIZE = 256

/**
 * Kysely's SQLite driver prepares every query afresh, and preparing (parsing
 * and planning the SQL) costs far more than running it: ~250 µs against
 * ~10 µs for a user lookup. Kysely compiles a query to the same SQL text each
 * time, so statements are kept by that text and reused.
 */
function withStatementCache (sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>()
  return {
    close: () => { sqlite.close() },
    prepare: (sql) => {
      let statement = statements.get(sql)
      if (statement === undefined) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear()
        statement = sqlite.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    }
  }
}

/** One connection to a SQLite file (made with its folder if missing), migrated. */
export async function openSqlite (databaseUrl: string): Promise<Kysely<Database>> {
  const file = sqlitePath(databaseUrl)
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new SQLite(file)
  // WAL lets readers (the users CLI, a second process) work while the server writes.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite')
  } catch (err) {
    await db.destroy()
    throw err
  }
  return db
}

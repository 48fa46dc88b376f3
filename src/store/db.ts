import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import type { Database } from './schema.js'
import { migrateToLatest } from './migrations.js'

export type Db = Kysely<Database>

/** `sqlite:./data/wsgate.db`, `sqlite:///abs/path.db` or `sqlite:relative.db` → a file path. */
export function sqlitePath (databaseUrl: string): string {
  const rest = databaseUrl.replace(/^sqlite:(\/\/)?/, '')
  if (rest === '') throw new Error('DATABASE_URL names no SQLite file')
  return resolve(rest)
}

/** Opens the database named by DATABASE_URL and brings its schema up to date. */
export async function openDb (databaseUrl: string): Promise<Db> {
  const file = sqlitePath(databaseUrl)
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new SQLite(file)
  // WAL lets readers (the users CLI, a second process) work while the server writes.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite')
  } catch (err) {
    await db.destroy()
    throw err
  }
  return db
}

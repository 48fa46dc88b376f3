import { type ColumnDataType, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'

export type Dialect = 'sqlite' | 'postgres'

/** An auto-numbered key: SQLite numbers an `integer primary key` itself. */
function autoId (dialect: Dialect): ColumnDataType {
  return dialect === 'postgres' ? 'serial' : 'integer'
}

/**
 * Migrations live in code rather than in a folder so that the same list runs
 * from TypeScript sources (tsx) and from the compiled build. Append only:
 * a migration that has shipped is never edited.
 */
function migrations (dialect: Dialect): Record<string, Migration> {
  return {
  '0001_users': {
    async up (db: Kysely<unknown>) {
      await db.schema.createTable('users')
        .addColumn('id', autoId(dialect), (c) => c.primaryKey())
        .addColumn('username', 'varchar(128)', (c) => c.notNull().unique())
        .addColumn('password_hash', 'varchar(128)', (c) => c.notNull())
        .addColumn('roles', 'varchar(256)', (c) => c.notNull().defaultTo(''))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute()
    },
    async down (db: Kysely<unknown>) {
      await db.schema.dropTable('users').execute()
    }
  }
  }
}

export async function migrateToLatest (db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) }
  const migrator = new Migrator({ db, provider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error !== undefined || failed !== undefined) {
    const name = failed?.migrationName ?? 'unknown'
    throw new Error(`Migration ${name} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** Used by tests and the readiness probe: proves the connection answers. */
export async function ping<T> (db: Kysely<T>): Promise<void> {
  await sql`select 1`.execute(db)
}

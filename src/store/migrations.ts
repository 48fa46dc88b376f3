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
  },
  '0002_sessions': {
    async up (db: Kysely<unknown>) {
      await db.schema.createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('username', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .addColumn('revoke_reason', 'varchar(64)')
        .execute()
      await db.schema.createIndex('sessions_username').on('sessions').column('username').execute()
      // One row per refresh token ever issued: a rotated row is kept so that
      // presenting it again is recognised as reuse (RFC 9700 §4.14.2).
      await db.schema.createTable('refresh_tokens')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('session_id', 'varchar(64)', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('rotated_at', 'varchar(32)')
        .execute()
      await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute()
    },
    async down (db: Kysely<unknown>) {
      await db.schema.dropTable('refresh_tokens').execute()
      await db.schema.dropTable('sessions').execute()
    }
  },
  '0003_audit': {
    async up (db: Kysely<unknown>) {
      // Column widths match the clamps in audit/sanitize.ts: Postgres refuses
      // an over-long value, and one bad row would fail its whole batch.
      await db.schema.createTable('audit_log')
        .addColumn('id', autoId(dialect), (c) => c.primaryKey())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('username', 'varchar(128)')
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'varchar(512)')
        .execute()
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute()
      await db.schema.createIndex('audit_log_username').on('audit_log').column('username').execute()
    },
    async down (db: Kysely<unknown>) {
      await db.schema.dropTable('audit_log').execute()
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

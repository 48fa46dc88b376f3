import { type ColumnDataType, type CreateTableBuilder, type Expression, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely'

export type Dialect = 'sqlite' | 'postgres'

/** An auto-numbered key: SQLite numbers an `integer primary key` itself. */
function autoId (dialect: Dialect): ColumnDataType {
  return dialect === 'postgres' ? 'serial' : 'integer'
}

/**
 * Text that is compared and sorted (names, ISO-8601 times). On Postgres it
 * gets the "C" collation: byte order, as SQLite compares, whatever locale the
 * database was created with, so that `at >= from` compares instants and
 * `order by username` lists alike on both engines. SQLite's DDL is unchanged:
 * its databases were made by these migrations as they shipped.
 */
function text (dialect: Dialect, width: number): ColumnDataType | Expression<unknown> {
  return dialect === 'postgres' ? sql.raw(`varchar(${width}) collate "C"`) : `varchar(${width})`
}

/** `toISOString()` output exactly: fixed width, UTC, milliseconds. */
const ISO_UTC = String.raw`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`

/**
 * Postgres only (see docs/STORAGE.md): the columns hold portable text and
 * integers, and these constraints keep them to the one form the code writes.
 * SQLite cannot add a constraint to a table that exists without rebuilding
 * it, and its databases shipped without them.
 */
function checks<T extends string, C extends string> (dialect: Dialect, table: CreateTableBuilder<T, C>, rules: Record<string, string>): CreateTableBuilder<T, C> {
  if (dialect !== 'postgres') return table
  return Object.entries(rules).reduce((t, [name, rule]) => t.addCheckConstraint(`${name}_check`, sql.raw(rule)), table)
}

function isoTime (column: string): string {
  return `${column} ~ '${ISO_UTC}'`
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
      await checks(dialect, db.schema.createTable('users')
        .addColumn('id', autoId(dialect), (c) => c.primaryKey())
        .addColumn('username', text(dialect, 128), (c) => c.notNull().unique())
        .addColumn('password_hash', 'varchar(128)', (c) => c.notNull())
        .addColumn('roles', text(dialect, 256), (c) => c.notNull().defaultTo(''))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', text(dialect, 32), (c) => c.notNull())
        .addColumn('updated_at', text(dialect, 32), (c) => c.notNull()), {
        // Sorted, distinct names joined by commas (users.ts encodeRoles); none is ''.
        users_roles: "roles ~ '^([^,]+(,[^,]+)*)?$'",
        users_disabled: 'disabled in (0, 1)',
        users_created_at: isoTime('created_at'),
        users_updated_at: isoTime('updated_at')
      }).execute()
    },
    async down (db: Kysely<unknown>) {
      await db.schema.dropTable('users').execute()
    }
  },
  '0002_sessions': {
    async up (db: Kysely<unknown>) {
      await checks(dialect, db.schema.createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('username', text(dialect, 128), (c) => c.notNull())
        .addColumn('created_at', text(dialect, 32), (c) => c.notNull())
        .addColumn('expires_at', text(dialect, 32), (c) => c.notNull())
        .addColumn('revoked_at', text(dialect, 32))
        .addColumn('revoke_reason', 'varchar(64)'), {
        sessions_created_at: isoTime('created_at'),
        sessions_expires_at: isoTime('expires_at'),
        sessions_revoked_at: isoTime('revoked_at')
      }).execute()
      await db.schema.createIndex('sessions_username').on('sessions').column('username').execute()
      // One row per refresh token ever issued: a rotated row is kept so that
      // presenting it again is recognised as reuse (RFC 9700 §4.14.2).
      await checks(dialect, db.schema.createTable('refresh_tokens')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('session_id', 'varchar(64)', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('created_at', text(dialect, 32), (c) => c.notNull())
        .addColumn('expires_at', text(dialect, 32), (c) => c.notNull())
        .addColumn('rotated_at', text(dialect, 32)), {
        refresh_tokens_created_at: isoTime('created_at'),
        refresh_tokens_expires_at: isoTime('expires_at'),
        refresh_tokens_rotated_at: isoTime('rotated_at')
      }).execute()
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
      await checks(dialect, db.schema.createTable('audit_log')
        .addColumn('id', autoId(dialect), (c) => c.primaryKey())
        .addColumn('at', text(dialect, 32), (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('username', text(dialect, 128))
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'varchar(512)'), {
        audit_log_at: isoTime('at')
      }).execute()
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

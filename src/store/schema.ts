import type { Generated } from 'kysely'

/**
 * Table shapes shared by every dialect. Timestamps are ISO-8601 UTC strings
 * and flags are 0/1 integers so that SQLite and Postgres read them alike.
 */

export interface UsersTable {
  id: Generated<number>
  username: string
  password_hash: string
  /** Comma-separated role names, e.g. `admin`. Empty string for none. */
  roles: string
  disabled: number
  created_at: string
  updated_at: string
}

export interface Database {
  users: UsersTable
}

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

export interface SessionsTable {
  /** The `sid` claim of every access token of this session. */
  id: string
  username: string
  created_at: string
  expires_at: string
  revoked_at: string | null
  revoke_reason: string | null
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string
  session_id: string
  created_at: string
  expires_at: string
  /** Set when the token was exchanged; presenting it again is reuse. */
  rotated_at: string | null
}

/** One row per recorded auth attempt or admin action; rows are never updated. */
export interface AuditLogTable {
  id: Generated<number>
  at: string
  kind: string
  /** As the client gave it, even when no such user exists. */
  username: string | null
  ip: string
  user_agent: string | null
  outcome: string
  reason: string | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  audit_log: AuditLogTable
}

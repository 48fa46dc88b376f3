import { CompiledQuery } from 'kysely'
import type { Db } from './db.js'

export interface Identity {
  readonly username: string
  readonly roles: readonly string[]
  readonly disabled: boolean
  /** Whether the asked-for session exists, is not revoked and has not expired. */
  readonly sessionActive: boolean
}

interface IdentityRow {
  username: string
  roles: string
  disabled: number
  revoked_at: string | null
  expires_at: string | null
}

// Stand-ins compiled into the query once, swapped for the real values per call.
const USERNAME = '\u0000username'
const SESSION = '\u0000session'

/**
 * The one read every authentication needs — the user row and, when the token
 * names one, its session — in a single query. It runs on every handshake and
 * every Bearer request, so it is built and compiled by Kysely once (for
 * whatever dialect the database is) and only its parameters change.
 */
export class IdentityStore {
  private readonly compiled: CompiledQuery<IdentityRow>

  constructor (private readonly db: Db) {
    this.compiled = db.selectFrom('users')
      .leftJoin('sessions', (join) => join.on('sessions.id', '=', SESSION).onRef('sessions.username', '=', 'users.username'))
      .select(['users.username', 'users.roles', 'users.disabled', 'sessions.revoked_at', 'sessions.expires_at'])
      .where('users.username', '=', USERNAME)
      .compile()
  }

  async find (username: string, sessionId: string | undefined): Promise<Identity | undefined> {
    const parameters = this.compiled.parameters.map((p) => p === USERNAME ? username : p === SESSION ? (sessionId ?? '') : p)
    const { rows } = await this.db.executeQuery(CompiledQuery.raw(this.compiled.sql, parameters) as CompiledQuery<IdentityRow>)
    const row = rows[0]
    if (row === undefined) return undefined
    const now = new Date().toISOString()
    return {
      username: row.username,
      roles: row.roles === '' ? [] : row.roles.split(','),
      disabled: row.disabled !== 0,
      sessionActive: row.expires_at !== null && row.revoked_at === null && row.expires_at > now
    }
  }
}

import type { Db } from './db.js'

export interface Identity {
  readonly username: string
  readonly roles: readonly string[]
  readonly disabled: boolean
  /** Whether the asked-for session exists, is not revoked and has not expired. */
  readonly sessionActive: boolean
}

/**
 * The one read every authentication needs — the user row and, when the token
 * names one, its session — in a single query: it runs on every handshake and
 * every Bearer request, and each round trip through the query builder costs
 * more than the lookup itself.
 */
export class IdentityStore {
  constructor (private readonly db: Db) {}

  async find (username: string, sessionId: string | undefined): Promise<Identity | undefined> {
    const row = await this.db.selectFrom('users')
      .leftJoin('sessions', (join) => join.on('sessions.id', '=', sessionId ?? '').onRef('sessions.username', '=', 'users.username'))
      .select(['users.username', 'users.roles', 'users.disabled', 'sessions.revoked_at', 'sessions.expires_at'])
      .where('users.username', '=', username)
      .executeTakeFirst()
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

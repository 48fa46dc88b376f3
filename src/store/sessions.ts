import type { Db } from './db.js'

export interface StoredRefreshToken {
  readonly sessionId: string
  readonly username: string
  readonly expiresAt: string
  readonly rotatedAt: string | null
  readonly sessionRevokedAt: string | null
}

/** A session as an admin sees it: never its refresh tokens' hashes. */
export interface LiveSession {
  readonly id: string
  readonly createdAt: string
  readonly expiresAt: string
}

/** Sessions and their refresh tokens. Knows SQL; knows nothing of tokens' format. */
export class SessionStore {
  constructor (private readonly db: Db) {}

  async create (input: { id: string, username: string, tokenHash: string, expiresAt: string }): Promise<void> {
    const now = new Date().toISOString()
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('sessions').values({ id: input.id, username: input.username, created_at: now, expires_at: input.expiresAt, revoked_at: null, revoke_reason: null }).execute()
      await trx.insertInto('refresh_tokens').values({ token_hash: input.tokenHash, session_id: input.id, created_at: now, expires_at: input.expiresAt, rotated_at: null }).execute()
    })
  }

  async findRefreshToken (tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const row = await this.db.selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select(['refresh_tokens.session_id', 'sessions.username', 'refresh_tokens.expires_at', 'refresh_tokens.rotated_at', 'sessions.revoked_at'])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst()
    if (row === undefined) return undefined
    return { sessionId: row.session_id, username: row.username, expiresAt: row.expires_at, rotatedAt: row.rotated_at, sessionRevokedAt: row.revoked_at }
  }

  /**
   * Marks `oldHash` rotated and stores `newHash`, in one transaction. Returns
   * false when the old token was already rotated: two concurrent refreshes
   * with one token are reuse, and only the first may win.
   */
  async rotate (input: { sessionId: string, oldHash: string, newHash: string, expiresAt: string }): Promise<boolean> {
    const now = new Date().toISOString()
    return await this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('refresh_tokens').set({ rotated_at: now })
        .where('token_hash', '=', input.oldHash).where('rotated_at', 'is', null).executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return false
      await trx.insertInto('refresh_tokens').values({ token_hash: input.newHash, session_id: input.sessionId, created_at: now, expires_at: input.expiresAt, rotated_at: null }).execute()
      await trx.updateTable('sessions').set({ expires_at: input.expiresAt }).where('id', '=', input.sessionId).execute()
      return true
    })
  }

  async revoke (sessionId: string, reason: string): Promise<boolean> {
    const result = await this.db.updateTable('sessions').set({ revoked_at: new Date().toISOString(), revoke_reason: reason })
      .where('id', '=', sessionId).where('revoked_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async revokeAllOf (username: string, reason: string): Promise<number> {
    const result = await this.db.updateTable('sessions').set({ revoked_at: new Date().toISOString(), revoke_reason: reason })
      .where('username', '=', username).where('revoked_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  /** The user's sessions that are neither revoked nor expired, newest first. */
  async liveOf (username: string): Promise<LiveSession[]> {
    const rows = await this.db.selectFrom('sessions').select(['id', 'created_at', 'expires_at'])
      .where('username', '=', username).where('revoked_at', 'is', null).where('expires_at', '>', new Date().toISOString())
      .orderBy('created_at', 'desc').orderBy('id').execute()
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at, expiresAt: r.expires_at }))
  }

  /** Of the given session ids, those that are revoked, expired or unknown. */
  async inactiveAmong (sessionIds: readonly string[]): Promise<string[]> {
    if (sessionIds.length === 0) return []
    const rows = await this.db.selectFrom('sessions').select(['id', 'revoked_at', 'expires_at']).where('id', 'in', sessionIds).execute()
    const now = new Date().toISOString()
    const active = new Set(rows.filter((r) => r.revoked_at === null && r.expires_at > now).map((r) => r.id))
    return sessionIds.filter((id) => !active.has(id))
  }
}

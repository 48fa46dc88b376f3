import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Broker } from '../broker/broker.js'
import type { SessionStore } from '../store/sessions.js'
import type { User, UserStore } from '../store/users.js'
import type { TokenService } from './tokens.js'

export type RefreshFailure = 'unknown' | 'expired' | 'revoked' | 'reused' | 'user'

export type RefreshOutcome =
  | { readonly ok: true, readonly user: User, readonly sid: string, readonly refreshToken: string }
  | { readonly ok: false, readonly failure: RefreshFailure, readonly sid?: string, readonly username?: string }

export interface StartedSession {
  readonly sid: string
  readonly refreshToken: string
}

function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * A login's whole life: the session behind every access token's `sid`, its
 * rotating refresh tokens, and revocation. Ending a session publishes an
 * event so that every instance closes that session's open sockets.
 */
export class SessionService {
  constructor (
    private readonly store: SessionStore,
    private readonly users: UserStore,
    private readonly tokens: TokenService,
    private readonly broker: Broker,
    private readonly refreshDays: number
  ) {}

  async start (username: string): Promise<StartedSession> {
    const sid = randomUUID()
    const refreshToken = randomBytes(32).toString('base64url')
    await this.store.create({ id: sid, username, tokenHash: hashToken(refreshToken), expiresAt: this.refreshExpiry() })
    return { sid, refreshToken }
  }

  /** Exchanges a refresh token for a new one; an already-rotated token kills its session. */
  async refresh (refreshToken: string): Promise<RefreshOutcome> {
    const oldHash = hashToken(refreshToken)
    const stored = await this.store.findRefreshToken(oldHash)
    if (stored === undefined) return { ok: false, failure: 'unknown' }
    const sid = stored.sessionId
    const username = stored.username
    if (stored.sessionRevokedAt !== null) return { ok: false, failure: 'revoked', sid, username }
    if (stored.rotatedAt !== null) {
      await this.revokeSession(sid, 'refresh token reuse')
      return { ok: false, failure: 'reused', sid, username }
    }
    if (stored.expiresAt <= new Date().toISOString()) return { ok: false, failure: 'expired', sid, username }
    const user = await this.users.findByUsername(username)
    if (user === undefined || user.disabled) return { ok: false, failure: 'user', sid, username }
    const next = randomBytes(32).toString('base64url')
    if (!await this.store.rotate({ sessionId: sid, oldHash, newHash: hashToken(next), expiresAt: this.refreshExpiry() })) {
      await this.revokeSession(sid, 'refresh token reuse')
      return { ok: false, failure: 'reused', sid, username }
    }
    return { ok: true, user, sid, refreshToken: next }
  }

  async revokeSession (sid: string, reason: string): Promise<void> {
    await this.store.revoke(sid, reason)
    await this.broker.publish({ kind: 'revoke-session', sid })
  }

  async revokeUser (username: string, reason: string): Promise<void> {
    await this.store.revokeAllOf(username, reason)
    await this.broker.publish({ kind: 'revoke-user', username })
  }

  /**
   * RFC 7009: a refresh token or an access token ends its session; anything
   * else is ignored (the endpoint answers 200 either way). The hint only
   * decides which kind is tried first.
   */
  async revokeToken (token: string, hint: string | undefined): Promise<'refresh' | 'access' | 'none'> {
    const tryRefresh = async (): Promise<boolean> => {
      const stored = await this.store.findRefreshToken(hashToken(token))
      if (stored === undefined) return false
      await this.revokeSession(stored.sessionId, 'revoked by client')
      return true
    }
    const tryAccess = async (): Promise<boolean> => {
      const sid = this.tokens.sessionOf(token)
      if (sid === undefined) return false
      await this.revokeSession(sid, 'revoked by client')
      return true
    }
    const [first, second] = hint === 'access_token' ? [tryAccess, tryRefresh] : [tryRefresh, tryAccess]
    if (await first()) return hint === 'access_token' ? 'access' : 'refresh'
    if (await second()) return hint === 'access_token' ? 'refresh' : 'access'
    return 'none'
  }

  private refreshExpiry (): string {
    return new Date(Date.now() + this.refreshDays * 86_400_000).toISOString()
  }
}

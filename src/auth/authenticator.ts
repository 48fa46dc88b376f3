import type { SessionStore } from '../store/sessions.js'
import type { UserStore } from '../store/users.js'
import type { TokenService } from './tokens.js'
import type { AuthOutcome } from './principal.js'

/**
 * Turns a raw access token into a Principal: signature and claims first
 * (cheap, synchronous), then the user row, so a disabled or deleted user's
 * still-valid token stops working at once, and the session, so that a
 * revoked login's access tokens die with it.
 */
export class Authenticator {
  constructor (private readonly tokens: TokenService, private readonly users: UserStore, private readonly sessions: SessionStore) {}

  async authenticate (token: string): Promise<AuthOutcome> {
    const verified = this.tokens.verifyAccess(token)
    if (!verified.ok) return verified
    const { claims } = verified
    const user = await this.users.findByUsername(claims.sub)
    if (user === undefined || user.disabled) return { ok: false, failure: 'invalid' }
    // Tokens without `sid` (minted elsewhere with our secret) have no session to check.
    if (!verified.testToken && claims.sid !== undefined && !await this.sessions.isActive(claims.sid)) {
      return { ok: false, failure: 'revoked' }
    }
    return {
      ok: true,
      principal: {
        username: user.username,
        // The stored roles win over the token's: a role removed takes effect at once.
        roles: user.roles,
        sid: claims.sid,
        jti: claims.jti,
        exp: claims.exp,
        testToken: verified.testToken
      }
    }
  }
}

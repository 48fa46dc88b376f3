import type { IdentityStore } from '../store/identity.js'
import type { TokenService } from './tokens.js'
import type { AuthOutcome } from './principal.js'

/**
 * Turns a raw access token into a Principal: signature and claims first
 * (cheap, synchronous), then one read of the user and the session, so that a
 * disabled or deleted user's still-valid token stops working at once, and a
 * revoked login's access tokens die with it.
 */
export class Authenticator {
  constructor (private readonly tokens: TokenService, private readonly identities: IdentityStore) {}

  async authenticate (token: string): Promise<AuthOutcome> {
    const verified = this.tokens.verifyAccess(token)
    if (!verified.ok) return verified
    const { claims } = verified
    // Tokens without `sid` (minted elsewhere with our secret) and the test token have no session to check.
    const sid = verified.testToken ? undefined : claims.sid
    const identity = await this.identities.find(claims.sub, sid)
    if (identity === undefined || identity.disabled) return { ok: false, failure: 'invalid' }
    if (sid !== undefined && !identity.sessionActive) return { ok: false, failure: 'revoked' }
    return {
      ok: true,
      principal: {
        username: identity.username,
        // The stored roles win over the token's: a role removed takes effect at once.
        roles: identity.roles,
        sid: claims.sid,
        jti: claims.jti,
        exp: claims.exp,
        testToken: verified.testToken
      }
    }
  }
}

import { randomUUID, timingSafeEqual } from 'node:crypto'
import type { JWT } from '@fastify/jwt'
import type { Config } from '../config.js'

/** Tokens longer than this are refused before any parsing or HMAC work. */
export const MAX_TOKEN_BYTES = 8192

/** Why a token was refused; each maps to one close reason and one HTTP error. */
export type TokenFailure = 'expired' | 'invalid' | 'payload'

/** What a verified access token says. `exp` is null only for the test token. */
export interface AccessClaims {
  readonly sub: string
  readonly sid: string | undefined
  readonly jti: string | undefined
  readonly roles: readonly string[]
  readonly iat: number | undefined
  readonly exp: number | null
}

export type VerifyResult =
  | { readonly ok: true, readonly claims: AccessClaims, readonly testToken: boolean }
  | { readonly ok: false, readonly failure: TokenFailure }

export interface IssuedToken {
  readonly token: string
  readonly claims: AccessClaims
  readonly expiresIn: number
}

/** Session id carried by test tokens: they belong to no stored session. */
export const TEST_SESSION_ID = 'test'

const USERNAME_MAX = 128

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** An HS256 signature is 32 bytes: 43 base64url characters. */
const HS256_SIGNATURE_CHARS = 43

/**
 * The 43rd character of a 32-byte signature holds 4 data bits and 2 padding
 * bits. Decoders ignore the padding bits, so without this check every token
 * would have three other spellings that verify — defeating anything keyed on
 * the exact token string (a deny list, a replay cache).
 */
function canonicalSignature (token: string): boolean {
  const dot = token.lastIndexOf('.')
  if (token.length - dot - 1 !== HS256_SIGNATURE_CHARS) return false
  const last = BASE64URL.indexOf(token.charAt(token.length - 1))
  return last !== -1 && (last & 3) === 0
}

function readCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

function sameString (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Signs and verifies access tokens. The verifier behind `jwt` is built once
 * with the algorithm pinned to HS256 and `exp` required (see plugins/jwt.ts);
 * this class adds the size cap, the test-token rule and payload checks.
 */
export class TokenService {
  private readonly testTokenValue: string | undefined

  constructor (private readonly jwt: JWT, private readonly config: Config) {
    this.testTokenValue = config.testTokenEnabled ? (config.wsTestToken ?? this.signTestToken()) : undefined
  }

  /** The current test token, or undefined when test tokens are disabled. */
  get testToken (): string | undefined {
    return this.testTokenValue
  }

  issueAccess (username: string, roles: readonly string[], sid: string): IssuedToken {
    const iat = Math.floor(Date.now() / 1000)
    const expiresIn = this.config.accessTokenMinutes * 60
    const claims: AccessClaims = { sub: username, iat, exp: iat + expiresIn, jti: randomUUID(), sid, roles: [...roles] }
    return { token: this.jwt.sign({ ...claims }), claims, expiresIn }
  }

  verifyAccess (token: string): VerifyResult {
    if (token === '' || Buffer.byteLength(token) > MAX_TOKEN_BYTES) return { ok: false, failure: 'invalid' }
    if (this.testTokenValue !== undefined && sameString(token, this.testTokenValue)) {
      return { ok: true, claims: this.testClaims(), testToken: true }
    }
    if (!canonicalSignature(token)) return { ok: false, failure: 'invalid' }
    let payload: unknown
    try {
      payload = this.jwt.verify(token)
    } catch (err) {
      return { ok: false, failure: readCode(err) === 'FAST_JWT_EXPIRED' ? 'expired' : 'invalid' }
    }
    const claims = toClaims(payload)
    if (claims === undefined) return { ok: false, failure: 'payload' }
    return this.plausibleTimes(claims) ? { ok: true, claims, testToken: false } : { ok: false, failure: 'invalid' }
  }

  /**
   * fast-jwt checks `exp` and `nbf` but not whether a token could have come
   * from us: one issued in the future (beyond the clock tolerance) or living
   * longer than ACCESS_TOKEN_EXPIRE_MINUTES was made with a leaked or shared
   * secret, or is meant to outlive every revocation sweep. Without `iat`, the
   * `exp` itself must fall within one lifetime from now.
   */
  private plausibleTimes (claims: AccessClaims): boolean {
    const now = Date.now() / 1000
    const tolerance = this.config.clockToleranceSeconds
    const lifetime = this.config.accessTokenMinutes * 60
    if (claims.exp === null) return false
    if (claims.iat === undefined) return claims.exp <= now + lifetime + tolerance
    return claims.iat <= now + tolerance && claims.exp - claims.iat <= lifetime
  }

  /**
   * The session of a genuine access token, expired or not: logging out with
   * a stale access token must still end its session. Undefined for anything
   * not signed by us and for the test token.
   */
  sessionOf (token: string): string | undefined {
    if (token === '' || Buffer.byteLength(token) > MAX_TOKEN_BYTES) return undefined
    if (this.testTokenValue !== undefined && sameString(token, this.testTokenValue)) return undefined
    try {
      const payload: unknown = this.jwt.verify(token, { ignoreExpiration: true })
      const sid = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>).sid : undefined
      return typeof sid === 'string' && sid !== TEST_SESSION_ID ? sid : undefined
    } catch {
      return undefined
    }
  }

  private testClaims (): AccessClaims {
    return { sub: this.config.testTokenUser, sid: TEST_SESSION_ID, jti: undefined, roles: [], iat: undefined, exp: null }
  }

  private signTestToken (): string {
    // No `exp` on purpose: this is the one token that never expires, and it is
    // accepted only by string equality while test tokens are enabled.
    return this.jwt.sign({ sub: this.config.testTokenUser, sid: TEST_SESSION_ID, jti: randomUUID(), roles: [], test: true })
  }
}

function toClaims (payload: unknown): AccessClaims | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined
  const p = payload as Record<string, unknown>
  if (typeof p.sub !== 'string' || p.sub === '' || p.sub.length > USERNAME_MAX) return undefined
  if (typeof p.exp !== 'number') return undefined
  const roles = Array.isArray(p.roles) ? p.roles.filter((r): r is string => typeof r === 'string') : []
  return {
    sub: p.sub,
    sid: typeof p.sid === 'string' ? p.sid : undefined,
    jti: typeof p.jti === 'string' ? p.jti : undefined,
    roles,
    iat: typeof p.iat === 'number' ? p.iat : undefined,
    exp: p.exp
  }
}

/** A token as it may appear in logs: never enough of it to replay. */
export function maskToken (token: string): string {
  if (token.length <= 12) return '***'
  return `${token.slice(0, 4)}…${token.slice(-4)}`
}

import type { TokenFailure } from './tokens.js'

/** Who is behind a verified token, as every route and socket sees it. */
export interface Principal {
  readonly username: string
  readonly roles: readonly string[]
  /** Session id (`sid`); undefined for tokens minted without one. */
  readonly sid: string | undefined
  readonly jti: string | undefined
  /** Unix seconds, or null for the non-expiring test token. */
  readonly exp: number | null
  readonly testToken: boolean
}

/** Token failures plus what only the store can tell: the session is gone. */
export type AuthFailure = TokenFailure | 'revoked'

export type AuthOutcome =
  | { readonly ok: true, readonly principal: Principal }
  | { readonly ok: false, readonly failure: AuthFailure }

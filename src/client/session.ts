import { login, refresh, requestJson, revoke, WsgateHttpError, joinUrl, type TokenResponse } from './http.js'
import { decodeClaims, tokenExpiry } from './jwt.js'
import type { TokenReason } from './types.js'

export interface TokenSessionOptions {
  /** Refresh when the access token has less than this left (default 60 s). */
  refreshMarginMs?: number
  /** Called after every rotation and after logout, e.g. to update a screen. */
  onChange?: (session: TokenSession) => void
}

/**
 * One login's tokens: hands out a valid access token, refreshes it when it
 * is close to expiry (one request at a time, since refresh tokens rotate and
 * a second concurrent refresh would count as reuse and end the session).
 */
export class TokenSession {
  private tokens: TokenResponse
  private inflight: Promise<string> | undefined
  private ended = false

  constructor (readonly baseUrl: string, tokens: TokenResponse | string, private readonly options: TokenSessionOptions = {}) {
    this.tokens = typeof tokens === 'string' ? { access_token: tokens, token_type: 'bearer', expires_in: 0 } : tokens
  }

  static async login (baseUrl: string, username: string, password: string, options?: TokenSessionOptions): Promise<TokenSession> {
    return new TokenSession(baseUrl, await login(baseUrl, username, password), options)
  }

  get accessToken (): string {
    return this.tokens.access_token
  }

  get refreshToken (): string | undefined {
    return this.tokens.refresh_token
  }

  /** Unix seconds, or null for a token that never expires. */
  get expiresAt (): number | null {
    return tokenExpiry(this.tokens.access_token)
  }

  get username (): string | undefined {
    const sub = decodeClaims(this.tokens.access_token)?.sub
    return typeof sub === 'string' ? sub : undefined
  }

  get roles (): string[] {
    const roles = decodeClaims(this.tokens.access_token)?.roles
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []
  }

  get canRefresh (): boolean {
    return this.tokens.refresh_token !== undefined && !this.ended
  }

  private nearExpiry (): boolean {
    const exp = this.expiresAt
    return exp !== null && exp * 1000 - Date.now() < (this.options.refreshMarginMs ?? 60_000)
  }

  /** A token source for WsgateClient: a fresh token when asked to refresh or when close to expiry. */
  readonly getToken = async (reason: TokenReason = 'connect'): Promise<string> => {
    if (this.ended) throw new WsgateHttpError(401, 'invalid_grant', 'Logged out')
    if (reason === 'refresh' || reason === 'expired') return await this.refresh()
    // A pasted token cannot be refreshed: use it while it lasts and let the server say when it is over.
    if (this.nearExpiry() && this.canRefresh) return await this.refresh()
    return this.tokens.access_token
  }

  /** Rotates the tokens; concurrent callers share one request. */
  async refresh (): Promise<string> {
    const refreshToken = this.tokens.refresh_token
    if (refreshToken === undefined || this.ended) throw new WsgateHttpError(400, 'invalid_grant', 'No refresh token: log in again')
    this.inflight ??= refresh(this.baseUrl, refreshToken).then((tokens) => {
      this.tokens = tokens
      this.options.onChange?.(this)
      return tokens.access_token
    }).finally(() => { this.inflight = undefined })
    return await this.inflight
  }

  /** A Bearer request that refreshes once and retries when the token has expired. */
  async request<T> (path: string, init: { method?: string, json?: unknown } = {}): Promise<T> {
    const url = joinUrl(this.baseUrl, path)
    try {
      return await requestJson<T>(url, { ...init, token: await this.getToken('connect') })
    } catch (err) {
      if (!(err instanceof WsgateHttpError) || err.status !== 401 || !this.canRefresh) throw err
      return await requestJson<T>(url, { ...init, token: await this.refresh() })
    }
  }

  /** Ends the session on the server (its sockets close) and forgets the tokens. */
  async logout (): Promise<void> {
    const token = this.tokens.refresh_token ?? this.tokens.access_token
    this.ended = true
    this.options.onChange?.(this)
    await revoke(this.baseUrl, token, this.tokens.refresh_token !== undefined ? 'refresh_token' : 'access_token')
  }
}

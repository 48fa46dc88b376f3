import type { FastifyBaseLogger } from 'fastify'
import type { AuditSink } from '../audit/events.js'
import { ApiError } from '../errors.js'
import type { UserStore } from '../store/users.js'
import { DEMO_PASSWORD, DEMO_USERNAME } from './demo-user.js'
import { MAX_LOGIN_PASSWORD_BYTES, checkPassword } from './login.js'
import type { LoginThrottle, ThrottleScope, Throttled } from './login-throttle.js'
import type { PasswordHasher } from './passwords.js'
import type { SessionService } from './sessions.js'
import type { TokenService } from './tokens.js'

export interface GrantDeps {
  readonly users: UserStore
  readonly passwords: PasswordHasher
  readonly tokens: TokenService
  readonly sessions: SessionService
  readonly loginThrottle: LoginThrottle
  readonly audit: AuditSink
  readonly config: { readonly isProduction: boolean }
}

export interface TokenGrant {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  refresh_token: string
}

export interface GrantRequest {
  readonly grant_type?: string
  readonly username?: string
  readonly password?: string
  readonly refresh_token?: string
}

export interface GrantContext {
  readonly ip: string
  readonly userAgent: string | null
  readonly log: FastifyBaseLogger
}

const THROTTLED: Record<ThrottleScope, string> = {
  ip: 'Too many token requests from this address; try again later',
  'ip-failures': 'Too many failed logins from this address; try again later',
  'user-ip': 'Too many failed logins for this user from this address; try again later',
  user: 'Too many failed logins for this user; try again later'
}

/** 429 with the wait in whole seconds (at least 1, so that a client never retries at once). */
export function throttledError (throttled: Throttled): ApiError {
  return new ApiError('rateLimited', THROTTLED[throttled.scope], { 'retry-after': String(Math.max(1, Math.ceil(throttled.retryAfterMs / 1000))) })
}

function audit (deps: GrantDeps, ctx: GrantContext, kind: 'password_grant' | 'refresh_grant', username: string | null, ok: boolean, reason: string | null): void {
  deps.audit.record({ kind, username, ip: ctx.ip, userAgent: ctx.userAgent, outcome: ok ? 'success' : 'failure', reason })
}

/** The OAuth2 grants of `POST /token`. Errors are ApiErrors in RFC 6749 terms. */
export async function grant (deps: GrantDeps, body: GrantRequest, ctx: GrantContext): Promise<TokenGrant> {
  const grantType = body.grant_type ?? 'password'
  if (grantType === 'password') return await passwordGrant(deps, body, ctx)
  if (grantType === 'refresh_token') return await refreshGrant(deps, body, ctx)
  throw new ApiError('unsupportedGrantType', `Unsupported grant_type "${grantType.slice(0, 64)}"`)
}

async function passwordGrant (deps: GrantDeps, body: GrantRequest, ctx: GrantContext): Promise<TokenGrant> {
  const { username, password } = body
  if (username === undefined || username === '' || password === undefined || password === '') {
    audit(deps, ctx, 'password_grant', username ?? null, false, 'missing username or password')
    throw new ApiError('invalidRequest', 'username and password are required')
  }
  if (Buffer.byteLength(password) > MAX_LOGIN_PASSWORD_BYTES) {
    audit(deps, ctx, 'password_grant', username, false, 'password too long')
    throw new ApiError('invalidRequest', `password must be at most ${MAX_LOGIN_PASSWORD_BYTES} bytes`)
  }
  // Checked before bcrypt: a throttled guess costs the server nothing.
  const throttled = await deps.loginThrottle.beginLogin(username, ctx.ip)
  if (throttled !== undefined) {
    ctx.log.info({ username, ip: ctx.ip, grant: 'password', outcome: 'throttled', scope: throttled.scope }, 'token grant throttled')
    audit(deps, ctx, 'password_grant', username, false, `throttled (${throttled.scope})`)
    throw throttledError(throttled)
  }
  // A database first used in development may still hold the demo account;
  // production never lets its well-known password in (the start refuses it too).
  const demo = deps.config.isProduction && username === DEMO_USERNAME && password === DEMO_PASSWORD
  if (demo) ctx.log.warn({ username, ip: ctx.ip }, 'the demo account\'s well-known password was refused (production)')
  const user = demo ? undefined : await checkPassword(deps.users, deps.passwords, username, password)
  if (user === undefined) {
    await deps.loginThrottle.recordFailure(username, ctx.ip)
    ctx.log.info({ username, ip: ctx.ip, grant: 'password', outcome: 'failure' }, 'token grant refused')
    audit(deps, ctx, 'password_grant', username, false, 'Incorrect username or password')
    throw new ApiError('badCredentials', undefined, { 'www-authenticate': 'Bearer' })
  }
  await deps.loginThrottle.recordSuccess(username, ctx.ip)
  const session = await deps.sessions.start(user.username)
  const issued = deps.tokens.issueAccess(user.username, user.roles, session.sid)
  ctx.log.info({ username: user.username, ip: ctx.ip, grant: 'password', outcome: 'success', sid: session.sid }, 'token grant issued')
  audit(deps, ctx, 'password_grant', user.username, true, null)
  return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, refresh_token: session.refreshToken }
}

const REFRESH_FAILURES = {
  unknown: 'Unknown refresh token',
  expired: 'Refresh token expired',
  revoked: 'Session revoked',
  reused: 'Refresh token was already used; the session is revoked',
  user: 'User is disabled or deleted'
} as const

async function refreshGrant (deps: GrantDeps, body: GrantRequest, ctx: GrantContext): Promise<TokenGrant> {
  const refreshToken = body.refresh_token
  if (refreshToken === undefined || refreshToken === '') {
    audit(deps, ctx, 'refresh_grant', null, false, 'missing refresh_token')
    throw new ApiError('invalidRequest', 'refresh_token is required')
  }
  const outcome = await deps.sessions.refresh(refreshToken)
  if (!outcome.ok) {
    ctx.log.info({ ip: ctx.ip, grant: 'refresh_token', outcome: 'failure', failure: outcome.failure, sid: outcome.sid }, 'token grant refused')
    audit(deps, ctx, 'refresh_grant', outcome.username ?? null, false, REFRESH_FAILURES[outcome.failure])
    throw new ApiError('invalidGrant', REFRESH_FAILURES[outcome.failure])
  }
  const issued = deps.tokens.issueAccess(outcome.user.username, outcome.user.roles, outcome.sid)
  ctx.log.info({ username: outcome.user.username, ip: ctx.ip, grant: 'refresh_token', outcome: 'success', sid: outcome.sid }, 'token grant issued')
  audit(deps, ctx, 'refresh_grant', outcome.user.username, true, null)
  return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, refresh_token: outcome.refreshToken }
}

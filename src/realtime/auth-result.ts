import type { FastifyBaseLogger } from 'fastify'
import type { AuditSink } from '../audit/events.js'
import type { Authenticator } from '../auth/authenticator.js'
import type { CredentialSource, Credentials } from '../auth/credentials.js'
import type { AuthFailure, AuthOutcome } from '../auth/principal.js'
import { maskToken } from '../auth/tokens.js'
import { Close, type CloseSpec, ReservedType } from '../protocol/index.js'
import type { RealtimeStats } from './stats.js'

/** What authenticating a socket touches besides the token. */
export interface SocketAuthDeps {
  readonly authenticator: Authenticator
  readonly stats: RealtimeStats
  readonly audit: AuditSink
}

/** The outcome of a socket's credentials, decided before or after the upgrade. */
export type SocketAuth =
  | AuthOutcome
  | { readonly ok: false, readonly failure: 'missing' | 'origin' }

type SocketFailure = AuthFailure | 'missing' | 'origin'

const FAILURE_CLOSE: Record<SocketFailure, CloseSpec> = {
  missing: Close.missingToken,
  origin: Close.originNotAllowed,
  expired: Close.tokenExpired,
  invalid: Close.invalidToken,
  payload: Close.invalidPayload,
  revoked: Close.sessionRevoked
}

export function closeFor (failure: SocketFailure): CloseSpec {
  return FAILURE_CLOSE[failure]
}

/** The frame that answers an `authenticate` message; a failure's close follows it. */
export function authAnswer (outcome: AuthOutcome): object {
  return outcome.ok
    ? { type: ReservedType.authenticated, user: outcome.principal.username, expiresAt: outcome.principal.exp }
    : { type: ReservedType.authFailed, reason: closeFor(outcome.failure).reason }
}

export interface AuthAttempt {
  readonly ip: string
  readonly userAgent: string | null
  readonly token: string
  /** Where the token came from; `socketio-auth` is the `auth` object of a Socket.IO handshake. */
  readonly source: CredentialSource | 'message' | 'socketio-auth'
}

/** Checks one token; counts and audits the attempt. The caller logs it. */
export async function checkSocketToken (deps: SocketAuthDeps, attempt: AuthAttempt): Promise<AuthOutcome> {
  const outcome = await deps.authenticator.authenticate(attempt.token)
  deps.stats.auth(outcome.ok)
  deps.audit.record({
    kind: 'ws_auth',
    // A failed token names no one we can trust; record the claimed subject only when verified.
    username: outcome.ok ? outcome.principal.username : null,
    ip: attempt.ip,
    userAgent: attempt.userAgent,
    outcome: outcome.ok ? 'success' : 'failure',
    reason: outcome.ok ? attempt.source : `${closeFor(outcome.failure).reason} (${attempt.source})`
  })
  return outcome
}

/** Authenticates one token; logs (with a masked token, never the token), counts and audits the attempt. */
export async function authenticateSocket (deps: SocketAuthDeps, attempt: AuthAttempt, log: FastifyBaseLogger): Promise<AuthOutcome> {
  const outcome = await checkSocketToken(deps, attempt)
  const fields = { ip: attempt.ip, source: attempt.source, token: maskToken(attempt.token) }
  if (outcome.ok) {
    log.info({ ...fields, user: outcome.principal.username, outcome: 'success' }, 'websocket auth succeeded')
  } else {
    log.info({ ...fields, outcome: 'failure', failure: outcome.failure }, 'websocket auth failed')
  }
  return outcome
}

/**
 * Runs before the upgrade, for a handshake that carries credentials (one
 * without is accepted pending a first `authenticate`). Counts and audits;
 * the handshake's one log line is the caller's.
 */
export async function authenticateHandshake (deps: SocketAuthDeps, credentials: Exclude<Credentials, { kind: 'none' }>, ip: string, userAgent: string | null): Promise<SocketAuth> {
  if (credentials.kind === 'ambiguous') {
    deps.stats.auth(false)
    deps.audit.record({ kind: 'ws_auth', username: null, ip, userAgent, outcome: 'failure', reason: 'Invalid token (token given more than once)' })
    return { ok: false, failure: 'invalid' }
  }
  return await checkSocketToken(deps, { ip, userAgent, token: credentials.token, source: credentials.source })
}

import type { AuditEvent, AuditKind } from '../audit/events.js'

/** The audit kinds that are authentication attempts; revocations and admin actions are not. */
const AUTH_KINDS: ReadonlySet<AuditKind> = new Set(['password_grant', 'refresh_grant', 'ws_auth', 'admin_auth'])

/**
 * The `reason` label's whole vocabulary. Audit reasons are free text, and
 * some carry a username or a number of seconds; a Prometheus label must take
 * few values, so each reason maps to one of these, else to `other`. First
 * match wins (so "Invalid token payload" is tested before "Invalid token").
 */
const FAILURE_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(missing |no token$|Missing authentication token)/, 'missing_credentials'],
  [/^malformed request$/, 'malformed_request'],
  [/^password too long$/, 'password_too_long'],
  [/^(throttled|locked out)/, 'throttled'],
  [/^Incorrect username or password$/, 'bad_credentials'],
  [/^(Token expired|token expired$|Refresh token expired$)/, 'expired'],
  [/^(Session revoked|token revoked$)/, 'revoked'],
  [/^Refresh token was already used/, 'reused'],
  [/^Unknown refresh token$/, 'unknown_token'],
  [/^User is disabled or deleted$/, 'user_disabled'],
  [/^(Invalid token payload|token payload$)/, 'invalid_payload'],
  [/^(Invalid token|token invalid$)/, 'invalid_token'],
  [/^Origin not allowed/, 'origin_not_allowed'],
  [/^token without role admin$/, 'not_admin']
]

/** How a success authenticated: the socket's token source, the admin PIN or an admin token. */
const SUCCESS_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(query|header|subprotocol|message)$/, '$1'],
  [/^admin PIN$/, 'pin'],
  [/^admin token of /, 'admin_token']
]

/** Every value the `reason` label can take. */
export const AUTH_REASONS: readonly string[] = [
  ...new Set([
    'none', 'other', 'query', 'header', 'subprotocol', 'message', 'pin', 'admin_token',
    ...FAILURE_REASONS.map(([, label]) => label)
  ])
]

export interface AuthOutcomeLabels {
  readonly kind: AuditKind
  readonly outcome: AuditEvent['outcome']
  readonly reason: string
}

function reasonLabel (event: AuditEvent): string {
  if (event.reason === null) return 'none'
  const table = event.outcome === 'success' ? SUCCESS_REASONS : FAILURE_REASONS
  for (const [pattern, label] of table) {
    const m = pattern.exec(event.reason)
    if (m !== null) return label === '$1' ? m[1]! : label
  }
  return 'other'
}

/** The labels an authentication attempt is counted under, or undefined for an event that is not one. */
export function authOutcomeLabels (event: AuditEvent): AuthOutcomeLabels | undefined {
  if (!AUTH_KINDS.has(event.kind)) return undefined
  return { kind: event.kind, outcome: event.outcome, reason: reasonLabel(event) }
}

/**
 * What the audit log records: every token grant, refresh, revocation,
 * WebSocket authentication, admin elevation and admin action. Recording is
 * fire-and-forget for the caller; the log batches writes off the request path.
 */
export type AuditKind =
  | 'password_grant'
  | 'refresh_grant'
  | 'revoke'
  | 'ws_auth'
  | 'admin_auth'
  | 'admin_action'

export type AuditOutcome = 'success' | 'failure'

export interface AuditEvent {
  readonly kind: AuditKind
  /** As given by the client, even when no such user exists; null when none was given. */
  readonly username: string | null
  readonly ip: string
  readonly userAgent: string | null
  readonly outcome: AuditOutcome
  /** Why it failed, or what the admin action was; never a secret. */
  readonly reason: string | null
}

export interface AuditSink {
  record (event: AuditEvent): void
}

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditSink
  }
}

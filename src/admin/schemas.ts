import { Type } from 'typebox'

/*
 * Shapes only: the username, role and password rules are checked by
 * AccountService, so that a refusal is audited and says what was wrong.
 */

export const Account = Type.Object({
  username: Type.String(),
  roles: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  createdAt: Type.String({ description: 'ISO-8601 UTC' }),
  updatedAt: Type.String({ description: 'ISO-8601 UTC' })
})

export const AccountList = Type.Object({
  users: Type.Array(Account)
})

const Roles = Type.Array(Type.String({ maxLength: 64, description: '1-64 of A-Z a-z 0-9 _ . : -' }), { maxItems: 32 })

export const CreateAccountBody = Type.Object({
  username: Type.String({ maxLength: 128, description: '1-128 of A-Z a-z 0-9 _ . @ -' }),
  password: Type.String({ maxLength: 1024, description: 'At most 72 bytes in UTF-8 (bcrypt ignores the rest)' }),
  roles: Type.Optional(Roles)
})

export const UsernameParams = Type.Object({
  username: Type.String({ maxLength: 256 })
})

export const RolesBody = Type.Object({
  roles: Roles
})

export const PasswordBody = Type.Object({
  password: Type.String({ maxLength: 1024, description: 'At most 72 bytes in UTF-8' })
})

const AuditKind = Type.Union([
  Type.Literal('password_grant'),
  Type.Literal('refresh_grant'),
  Type.Literal('revoke'),
  Type.Literal('ws_auth'),
  Type.Literal('admin_auth'),
  Type.Literal('admin_action')
])

const AuditOutcome = Type.Union([Type.Literal('success'), Type.Literal('failure')])

/** A date, or a date-time with a zone: a zoneless time would be read in the server's zone. */
const IsoTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$',
  description: 'ISO-8601, e.g. 2025-01-31 or 2025-01-31T12:00:00Z; `from` is inclusive, `to` exclusive'
})

export const AuditQuerystring = Type.Object({
  user: Type.Optional(Type.String({ maxLength: 128 })),
  ip: Type.Optional(Type.String({ maxLength: 64, description: 'The client address exactly as recorded' })),
  outcome: Type.Optional(AuditOutcome),
  kind: Type.Optional(AuditKind),
  from: Type.Optional(IsoTime),
  to: Type.Optional(IsoTime),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'The `next` of the previous page' }))
})

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  kind: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  ip: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()])
})

export const AuditPage = Type.Object({
  items: Type.Array(AuditEntry),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `before` for older entries; null on the last page' })
})

export const SessionParams = Type.Object({
  username: Type.String({ maxLength: 256 }),
  sid: Type.String({ maxLength: 64 })
})

export const SessionList = Type.Object({
  sessions: Type.Array(Type.Object({
    id: Type.String({ description: 'The session id: the `sid` of its access tokens' }),
    createdAt: Type.String({ description: 'ISO-8601 UTC' }),
    expiresAt: Type.String({ description: 'ISO-8601 UTC: when its refresh token runs out' })
  }))
})

import type { AuditSink } from '../audit/events.js'
import type { SessionService } from '../auth/sessions.js'
import { ApiError } from '../errors.js'
import type { LiveSession, SessionStore } from '../store/sessions.js'
import type { UserStore } from '../store/users.js'
import { auditedAction, type Actor } from './accounts.js'

/**
 * A user's live sessions for admins: listed (ids and times only, never token
 * hashes) and revoked one at a time. Revoking goes through SessionService, so
 * the broker tells every instance and that session's sockets close at once.
 */
export class UserSessions {
  constructor (
    private readonly users: Pick<UserStore, 'findByUsername'>,
    private readonly store: Pick<SessionStore, 'liveOf'>,
    private readonly sessions: Pick<SessionService, 'revokeSession'>,
    private readonly audit: AuditSink
  ) {}

  /** A read, so nothing is audited. */
  async list (username: string): Promise<LiveSession[]> {
    if (await this.users.findByUsername(username) === undefined) throw notFound(username)
    return await this.store.liveOf(username)
  }

  async revoke (actor: Actor, username: string, sid: string): Promise<void> {
    await auditedAction(this.audit, actor, `revoke session ${sid} of ${username}`, async () => {
      // Only a live session of this user: an admin cannot end someone else's by a mistyped name.
      const live = await this.list(username)
      if (!live.some((session) => session.id === sid)) throw new ApiError('notFound', `"${username}" has no live session ${sid}`)
      await this.sessions.revokeSession(sid, 'revoked by admin')
    })
  }
}

function notFound (username: string): ApiError {
  return new ApiError('notFound', `No user named "${username}"`)
}

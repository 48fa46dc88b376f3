import { maskToken } from '../auth/tokens.js'
import { leaveForbiddenChannels } from './channel-access.js'
import { withdrawElevation } from './role-change.js'
import type { RealtimeContext } from './context.js'
import type { SocketView } from './handlers.js'
import type { ClientMessage } from './messages.js'
import { ErrorCode, ReservedType } from '../protocol/index.js'

/**
 * `{"type":"refresh","token":…}`: a new access token for the same user moves
 * this socket's expiry without a reconnect. Anything else leaves the old
 * expiry in place and answers with an error frame. The roles read with the
 * new token apply at once: channels they no longer allow are left (each with
 * an `unsubscribed` frame, reason `forbidden`) before `refreshed`, and an
 * elevation the user's admin role granted ends with the role.
 */
export function refreshInBand (ctx: Pick<RealtimeContext, 'authenticator' | 'log' | 'channelPolicy'>, conn: SocketView, message: ClientMessage): void {
  const current = conn.principal
  const { token, requestId } = message
  if (current === undefined) return
  if (typeof token !== 'string' || token === '') {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'refresh needs a "token"' }, requestId)
    return
  }
  ctx.authenticator.authenticate(token).then((outcome) => {
    if (!conn.isOpen) return
    const log = { connectionId: conn.connectionId, ip: conn.ip, token: maskToken(token) }
    if (!outcome.ok) {
      ctx.log.info({ ...log, failure: outcome.failure }, 'in-band refresh refused')
      conn.sendError({ code: ErrorCode.invalidToken, message: `Refresh refused: ${outcome.failure} token` }, requestId)
      return
    }
    if (outcome.principal.username !== current.username) {
      ctx.log.info({ ...log, user: current.username }, 'in-band refresh refused: token of another user')
      conn.sendError({ code: ErrorCode.invalidToken, message: 'Refresh refused: token belongs to another user' }, requestId)
      return
    }
    conn.renew(outcome.principal)
    // An /admin/ws socket whose new token lost role admin is closed here.
    if (withdrawElevation(conn, current.username, outcome.principal.roles) === 'closed') return
    const left = leaveForbiddenChannels(conn, ctx.channelPolicy)
    ctx.log.info({ ...log, user: current.username, ...(left.length > 0 ? { channelsLeft: left } : {}) }, 'in-band refresh accepted')
    conn.send({ type: ReservedType.refreshed, expiresAt: outcome.principal.exp, ...(typeof requestId === 'string' ? { requestId } : {}) })
  }, (err: unknown) => {
    ctx.log.error({ err }, 'in-band refresh crashed')
  })
}

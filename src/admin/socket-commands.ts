import { ADMIN_ROLE } from '../auth/bearer.js'
import { sameSecret } from '../auth/same-secret.js'
import type { Connection } from '../realtime/connection.js'
import { stamp, type ClientMessage } from '../realtime/messages.js'
import { ErrorCode, GLOBAL_CHANNEL, isChannelName, ReservedType } from '../protocol/index.js'
import { statsUpdate } from '../realtime/stats.js'

const MAX_BROADCAST_LENGTH = 4096

function withRequestId (message: ClientMessage): { requestId?: string } {
  return typeof message.requestId === 'string' ? { requestId: message.requestId } : {}
}

interface Checked {
  readonly ok: boolean
  /** For the audit log and the log line; never the token. */
  readonly reason: string
}

/** The PIN first, in constant time; otherwise the token as an access token with role admin. */
async function checkAdminToken (conn: Connection, token: string): Promise<Checked> {
  const { adminToken } = conn.ctx.config
  if (adminToken !== undefined && sameSecret(token, adminToken)) return { ok: true, reason: 'admin PIN' }
  const outcome = await conn.ctx.authenticator.authenticate(token)
  if (outcome.ok && outcome.principal.roles.includes(ADMIN_ROLE)) return { ok: true, reason: `admin token of ${outcome.principal.username}` }
  return { ok: false, reason: outcome.ok ? 'token without role admin' : `token ${outcome.failure}` }
}

/**
 * `admin_auth`: the admin PIN or an admin's access token elevates this socket.
 * Failures lock the user and the IP out for a while (see AdminLockout); every
 * attempt, refused ones included, is audited.
 */
export function adminAuth (conn: Connection, message: ClientMessage): void {
  const { token } = message
  const { config, audit, adminLockout, log } = conn.ctx
  const record = (ok: boolean, reason: string): void => {
    audit.record({ kind: 'admin_auth', username: conn.username, ip: conn.ip, userAgent: conn.userAgent, outcome: ok ? 'success' : 'failure', reason })
    log.info({ user: conn.username, ip: conn.ip, outcome: ok ? 'success' : 'failure', reason }, 'admin_auth attempt')
  }
  const fail = (reason: string, error = 'Admin authentication failed', extra: object = {}): void => {
    record(false, reason)
    conn.send({ type: ReservedType.adminAuthResponse, success: false, error, ...extra, ...withRequestId(message) })
  }
  if (typeof token !== 'string' || token === '') {
    fail('no token')
    return
  }
  adminLockout.attempt(conn.username, conn.ip, async () => await checkAdminToken(conn, token)).then((outcome) => {
    if ('locked' in outcome) {
      const seconds = Math.ceil(outcome.retryAfterMs / 1000)
      fail(`locked out for ${seconds} s after failed attempts`, `Too many failed admin_auth attempts: wait ${seconds} s before trying again`, { retryAfterSeconds: seconds })
      return
    }
    if (!outcome.ok) {
      fail(outcome.reason)
      return
    }
    record(true, outcome.reason)
    // Elevating a socket that closed while the token was checked would outlive it.
    if (!conn.isOpen) return
    const until = conn.elevate(config.adminElevationSeconds * 1000)
    conn.send({ type: ReservedType.adminAuthResponse, success: true, expiresAt: until === Infinity ? null : Math.floor(until / 1000), ...withRequestId(message) })
  }, (err: unknown) => {
    log.error({ err }, 'admin_auth failed')
    fail('internal error')
  })
}

/** Admin-only messages; each one renews the elevation. */
export function adminMessage (conn: Connection, message: ClientMessage): void {
  if (!conn.elevated) {
    conn.sendError({ code: ErrorCode.forbidden, message: 'Admin only: send admin_auth first' }, message.requestId)
    return
  }
  conn.elevate(conn.ctx.config.adminElevationSeconds * 1000)
  if (message.type === ReservedType.getStats) {
    conn.send({ ...statsUpdate(conn.ctx.stats), ...withRequestId(message) })
    return
  }
  switch (message.command) {
    case 'stats':
      conn.send({ ...statsUpdate(conn.ctx.stats), ...withRequestId(message) })
      return
    case 'kick':
      kick(conn, message)
      return
    case 'broadcast':
      broadcast(conn, message)
      return
    default:
      conn.sendError({ code: ErrorCode.invalidMessage, message: 'admin_command needs "command": stats, kick or broadcast' }, message.requestId)
  }
}

function audited (conn: Connection, reason: string, ok: boolean): void {
  conn.ctx.audit.record({ kind: 'admin_action', username: conn.username, ip: conn.ip, userAgent: conn.userAgent, outcome: ok ? 'success' : 'failure', reason })
}

function kick (conn: Connection, message: ClientMessage): void {
  const { user } = message
  if (typeof user !== 'string' || user === '' || user.length > 128) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'kick needs "user"' }, message.requestId)
    return
  }
  // Kicking ends the user's sessions too: a kicked client told "Session revoked" must not get back in with the same token.
  conn.ctx.sessions.revokeUser(user, `kicked by ${conn.username}`).then(() => {
    audited(conn, `kick ${user}`, true)
    conn.send({ type: 'admin_command_result', command: 'kick', user, ok: true, ...withRequestId(message) })
  }, (err: unknown) => {
    conn.ctx.log.error({ err }, 'kick failed')
    audited(conn, `kick ${user}`, false)
    conn.send({ type: 'admin_command_result', command: 'kick', user, ok: false, ...withRequestId(message) })
  })
}

function broadcast (conn: Connection, message: ClientMessage): void {
  const text = message.message
  const channel = message.channel ?? GLOBAL_CHANNEL
  if (typeof text !== 'string' || text === '' || text.length > MAX_BROADCAST_LENGTH || !isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: `broadcast needs "message", 1 to ${MAX_BROADCAST_LENGTH} characters` }, message.requestId)
    return
  }
  const system = stamp({ type: 'system', message: text }, 'system')
  void conn.ctx.broker.publish({ kind: 'broadcast', channel, frame: JSON.stringify(system) })
  audited(conn, `broadcast to ${channel}`, true)
  conn.send({ type: 'admin_command_result', command: 'broadcast', ok: true, ...withRequestId(message) })
}

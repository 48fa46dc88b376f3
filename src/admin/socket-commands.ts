import { createHash, timingSafeEqual } from 'node:crypto'
import { ADMIN_ROLE } from '../auth/bearer.js'
import type { Connection } from '../realtime/connection.js'
import { isChannelName, stamp, type ClientMessage } from '../realtime/messages.js'
import { ErrorCode, GLOBAL_CHANNEL, ReservedType } from '../realtime/protocol.js'
import { statsUpdate } from '../realtime/stats.js'

const MAX_BROADCAST_LENGTH = 4096

/** Constant time whatever the lengths: digests are always 32 bytes. */
function samePin (given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

function withRequestId (message: ClientMessage): { requestId?: string } {
  return typeof message.requestId === 'string' ? { requestId: message.requestId } : {}
}

/** `admin_auth`: the admin PIN or an admin's access token elevates this socket. */
export function adminAuth (conn: Connection, message: ClientMessage): void {
  const { token } = message
  const { config, audit, authenticator, log } = conn.ctx
  const record = (ok: boolean, reason: string): void => {
    audit.record({ kind: 'admin_auth', username: conn.username, ip: conn.ip, userAgent: conn.userAgent, outcome: ok ? 'success' : 'failure', reason })
    log.info({ user: conn.username, ip: conn.ip, outcome: ok ? 'success' : 'failure', reason }, 'admin_auth attempt')
  }
  const succeed = (reason: string): void => {
    record(true, reason)
    const until = conn.elevate(config.adminElevationSeconds * 1000)
    conn.send({ type: ReservedType.adminAuthResponse, success: true, expiresAt: until === Infinity ? null : Math.floor(until / 1000), ...withRequestId(message) })
  }
  const fail = (reason: string): void => {
    record(false, reason)
    conn.send({ type: ReservedType.adminAuthResponse, success: false, error: 'Admin authentication failed', ...withRequestId(message) })
  }
  if (typeof token !== 'string' || token === '') {
    fail('no token')
    return
  }
  if (config.adminToken !== undefined && samePin(token, config.adminToken)) {
    succeed('admin PIN')
    return
  }
  authenticator.authenticate(token).then((outcome) => {
    if (!conn.isOpen) return
    if (outcome.ok && outcome.principal.roles.includes(ADMIN_ROLE)) succeed(`admin token of ${outcome.principal.username}`)
    else fail(outcome.ok ? 'token without role admin' : `token ${outcome.failure}`)
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

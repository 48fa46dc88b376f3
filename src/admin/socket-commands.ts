import type { FastifyBaseLogger } from 'fastify'
import type { AuditSink } from '../audit/events.js'
import type { Authenticator } from '../auth/authenticator.js'
import { ADMIN_ROLE } from '../auth/bearer.js'
import { sameSecret } from '../auth/same-secret.js'
import type { SessionService } from '../auth/sessions.js'
import type { ChannelLog } from '../channels/history.js'
import type { ChannelPolicy } from '../channels/policy.js'
import type { Config } from '../config.js'
import { ErrorCode, GLOBAL_CHANNEL, isChannelName, ReservedType } from '../protocol/index.js'
import type { SocketView } from '../realtime/handlers.js'
import { stamp, type ClientMessage } from '../realtime/messages.js'
import type { ClusterStats } from '../realtime/cluster-stats.js'
import type { AdminLockout } from './lockout.js'

/** What the admin socket messages use besides the socket; built once by the admin socket plugin. */
export interface AdminSocketDeps {
  readonly config: Pick<Config, 'adminToken' | 'adminElevationSeconds'>
  readonly authenticator: Authenticator
  readonly sessions: Pick<SessionService, 'revokeUser'>
  /** A broadcast is the server publishing: refused only where no namespace covers the channel. */
  readonly policy: ChannelPolicy
  readonly channelLog: ChannelLog
  readonly stats: ClusterStats
  readonly audit: AuditSink
  readonly log: FastifyBaseLogger
  readonly lockout: AdminLockout
}

const MAX_BROADCAST_LENGTH = 4096

function withRequestId (message: ClientMessage): { requestId?: string } {
  return typeof message.requestId === 'string' ? { requestId: message.requestId } : {}
}

interface Checked {
  readonly ok: boolean
  /** For the audit log and the log line; never the token. */
  readonly reason: string
  /** The admin whose role the token carries; none for the PIN. */
  readonly grantedBy?: string
}

/** The PIN first, in constant time; otherwise the token as an access token with role admin. */
async function checkAdminToken (deps: AdminSocketDeps, token: string): Promise<Checked> {
  const { adminToken } = deps.config
  if (adminToken !== undefined && sameSecret(token, adminToken)) return { ok: true, reason: 'admin PIN' }
  const outcome = await deps.authenticator.authenticate(token)
  if (outcome.ok && outcome.principal.roles.includes(ADMIN_ROLE)) return { ok: true, reason: `admin token of ${outcome.principal.username}`, grantedBy: outcome.principal.username }
  return { ok: false, reason: outcome.ok ? 'token without role admin' : `token ${outcome.failure}` }
}

/**
 * `admin_auth`: the admin PIN or an admin's access token elevates this socket.
 * Failures lock the user and the IP out for a while (see AdminLockout); every
 * attempt, refused ones included, is audited.
 */
export function adminAuth (deps: AdminSocketDeps, conn: SocketView, message: ClientMessage): void {
  const { token } = message
  const { config, audit, lockout, log } = deps
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
  lockout.attempt(conn.username, conn.ip, async () => await checkAdminToken(deps, token)).then((outcome) => {
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
    const until = conn.elevation.grant(config.adminElevationSeconds * 1000, outcome.grantedBy)
    conn.send({ type: ReservedType.adminAuthResponse, success: true, expiresAt: until === null ? null : Math.floor(until / 1000), ...withRequestId(message) })
  }, (err: unknown) => {
    log.error({ err }, 'admin_auth failed')
    fail('internal error')
  })
}

/** Admin-only messages; each one renews the elevation. */
export function adminMessage (deps: AdminSocketDeps, conn: SocketView, message: ClientMessage): void {
  if (!conn.elevation.active) {
    conn.sendError({ code: ErrorCode.forbidden, message: 'Admin only: send admin_auth first' }, message.requestId)
    return
  }
  conn.elevation.extend(deps.config.adminElevationSeconds * 1000)
  if (message.type === ReservedType.getStats) {
    conn.send({ ...deps.stats.current(), ...withRequestId(message) })
    return
  }
  switch (message.command) {
    case 'stats':
      conn.send({ ...deps.stats.current(), ...withRequestId(message) })
      return
    case 'kick':
      kick(deps, conn, message)
      return
    case 'broadcast':
      broadcast(deps, conn, message)
      return
    default:
      conn.sendError({ code: ErrorCode.invalidMessage, message: 'admin_command needs "command": stats, kick or broadcast' }, message.requestId)
  }
}

function audited (deps: AdminSocketDeps, conn: SocketView, reason: string, ok: boolean): void {
  deps.audit.record({ kind: 'admin_action', username: conn.username, ip: conn.ip, userAgent: conn.userAgent, outcome: ok ? 'success' : 'failure', reason })
}

function kick (deps: AdminSocketDeps, conn: SocketView, message: ClientMessage): void {
  const { user } = message
  if (typeof user !== 'string' || user === '' || user.length > 128) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'kick needs "user"' }, message.requestId)
    return
  }
  // Kicking ends the user's sessions too: a kicked client told "Session revoked" must not get back in with the same token.
  deps.sessions.revokeUser(user, `kicked by ${conn.username}`).then(() => {
    audited(deps, conn, `kick ${user}`, true)
    conn.send({ type: 'admin_command_result', command: 'kick', user, ok: true, ...withRequestId(message) })
  }, (err: unknown) => {
    deps.log.error({ err }, 'kick failed')
    audited(deps, conn, `kick ${user}`, false)
    conn.send({ type: 'admin_command_result', command: 'kick', user, ok: false, ...withRequestId(message) })
  })
}

function broadcast (deps: AdminSocketDeps, conn: SocketView, message: ClientMessage): void {
  const text = message.message
  const channel = message.channel ?? GLOBAL_CHANNEL
  if (typeof text !== 'string' || text === '' || text.length > MAX_BROADCAST_LENGTH || !isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: `broadcast needs "message", 1 to ${MAX_BROADCAST_LENGTH} characters, and "channel", if any, 1 to 128 letters, digits or _.:@-` }, message.requestId)
    return
  }
  const refused = deps.policy.broadcastRefusal(channel)
  if (refused !== undefined) {
    audited(deps, conn, `broadcast to ${channel}: ${refused}`, false)
    conn.sendError({ code: ErrorCode.forbidden, message: refused }, message.requestId)
    return
  }
  const system = stamp({ type: 'system', message: text }, 'system')
  void deps.channelLog.publish(channel, JSON.stringify(system), deps.policy.options(channel).history)
  audited(deps, conn, `broadcast to ${channel}`, true)
  conn.send({ type: 'admin_command_result', command: 'broadcast', ok: true, ...withRequestId(message) })
}

import type { FastifyBaseLogger } from 'fastify'
import { ADMIN_ROLE } from '../auth/bearer.js'
import type { ChannelPolicy } from '../channels/policy.js'
import { Close } from '../protocol/index.js'
import { leaveForbiddenChannels } from './channel-access.js'
import type { SocketView } from './handlers.js'

export type ElevationOutcome = 'kept' | 'ended' | 'closed'

/**
 * `username` now holds `roles`. An elevation that username's admin role
 * granted does not outlive the role: an `/admin/ws` socket (elevated for
 * life) is closed with 1008 Forbidden, any other socket is back to needing
 * `admin_auth`. One the PIN granted stays, as the PIN does.
 */
export function withdrawElevation (conn: SocketView, username: string, roles: readonly string[]): ElevationOutcome {
  const { elevation } = conn
  if (elevation.grantedBy !== username || roles.includes(ADMIN_ROLE)) return 'kept'
  if (elevation.forLife) {
    conn.closeWith(Close.forbidden)
    return 'closed'
  }
  elevation.end()
  return 'ended'
}

export interface RoleChange {
  readonly channelsLeft: string[]
  readonly elevation: ElevationOutcome
}

/**
 * A user's roles changed (the `user-roles` event): what that does to one
 * socket of this instance, or undefined when it does nothing. The user's own
 * sockets take the roles at once and leave the channels they no longer allow;
 * any socket the user's admin role elevated loses that (withdrawElevation).
 */
export function applyRoleChange (conn: SocketView, username: string, roles: readonly string[], policy: ChannelPolicy): RoleChange | undefined {
  if (!conn.isOpen) return undefined
  const elevation = withdrawElevation(conn, username, roles)
  const principal = conn.principal
  if (elevation === 'closed' || principal === undefined || conn.username !== username) {
    return elevation === 'kept' ? undefined : { channelsLeft: [], elevation }
  }
  conn.renew({ ...principal, roles: [...roles] })
  return { channelsLeft: leaveForbiddenChannels(conn, policy), elevation }
}

/** One line per socket a role change did something to. */
export function logRoleChange (log: FastifyBaseLogger, conn: SocketView, username: string, change: RoleChange): void {
  if (change.channelsLeft.length === 0 && change.elevation === 'kept') return
  log.info({ user: username, connectionId: conn.connectionId, socketUser: conn.username, channelsLeft: change.channelsLeft, elevation: change.elevation }, 'roles changed')
}

import { ADMIN_ROLE } from '../auth/bearer.js'
import type { Principal } from '../auth/principal.js'
import { Close, type CloseSpec } from '../protocol/index.js'
import type { Elevation } from './elevation.js'
import type { Hub, HubClient } from './hub.js'

/** The internal channel that carries `stats_update` to admin sockets; `$` is not a legal client channel. */
export const ADMIN_CHANNEL = '$admin'

/** `/ws` sockets are users; `/admin/ws` sockets must hold role admin and stay elevated. */
export type ConnectionKind = 'user' | 'admin'

/** Why `principal` may not open a socket of this kind now, or undefined when it may. */
export function refusalFor (kind: ConnectionKind, principal: Principal, hub: Hub, maxPerUser: number): CloseSpec | undefined {
  if (kind === 'admin' && !principal.roles.includes(ADMIN_ROLE)) return Close.forbidden
  if (hub.connectionsOf(principal.username) >= maxPerUser) return Close.tooManyConnections
  return undefined
}

/** An `/admin/ws` socket, once in the hub, is elevated for life and hears the stats ticker. */
export function enterAdminEndpoint (hub: Hub, client: HubClient, elevation: Elevation): void {
  elevation.grantForLife(client.username)
  hub.subscribe(client, ADMIN_CHANNEL)
}

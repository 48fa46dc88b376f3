import type { FastifyBaseLogger } from 'fastify'
import type { AuditSink } from '../audit/events.js'
import type { Authenticator } from '../auth/authenticator.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Broker } from '../broker/broker.js'
import type { Admission } from './admission.js'
import type { ChannelLog } from '../channels/history.js'
import type { Presence } from '../channels/presence.js'
import type { ChannelPresence } from './channel-presence.js'
import type { ChannelPolicy } from '../channels/policy.js'
import type { Connection } from './connection.js'
import type { MessageHandlers } from './handlers.js'
import type { ExpirySchedule } from './expiry.js'
import type { Hub, HubClient } from './hub.js'
import type { ClusterStatsUpdate } from './cluster-stats.js'
import type { RealtimeStats } from './stats.js'
import type { ConnectionCounts } from '../broker/connection-counts.js'

/** What every connection shares; built once per app, not per socket. */
export interface RealtimeContext {
  readonly hub: Hub
  readonly broker: Broker
  /** Who may subscribe and publish where (built-in namespaces and CHANNELS_FILE's). */
  readonly channelPolicy: ChannelPolicy
  readonly authenticator: Authenticator
  readonly handlers: MessageHandlers
  readonly stats: RealtimeStats
  readonly audit: AuditSink
  readonly config: Config
  readonly clock: Clock
  readonly log: FastifyBaseLogger
  /** Every socket not yet closed, pending ones included (the hub holds only authenticated ones). */
  readonly connections: Set<Connection>
  /** When each open socket's token expires; the socket is closed then (1008 `Token expired`). */
  readonly expiries: ExpirySchedule<HubClient>
  /** The `stats_update` an /admin/ws socket gets when it opens. */
  readonly statsUpdate: () => ClusterStatsUpdate
  /** Per-user socket counts shared by every instance; undefined with one instance (the hub counts). */
  readonly connectionCounts: ConnectionCounts | undefined
  readonly channelLog: ChannelLog
  readonly presence: Presence
  readonly channelPresence: ChannelPresence
  /** The handshake caps per IP and on pending sockets, shared by every socket endpoint. */
  readonly admission: Admission
}

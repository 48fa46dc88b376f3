import fp from 'fastify-plugin'
import { WebSocketServer } from 'ws'
import type { Clock } from '../clock.js'
import { BEARER_SUBPROTOCOL, Close } from '../protocol/index.js'
import type { Config } from '../config.js'
import type { RealtimeContext } from './context.js'
import { startHeartbeat } from './heartbeat.js'
import { publishHandler, registerBuiltinHandlers } from './builtin-handlers.js'
import type { Connection } from './connection.js'
import { ADMIN_CHANNEL } from './endpoint.js'
import { MessageHandlers } from './handlers.js'
import { ExpirySchedule } from './expiry.js'
import { Hub, type HubClient } from './hub.js'
import { RedisConnectionCounts } from '../broker/connection-counts-redis.js'
import { startRevalidation } from './revalidate.js'
import { applyRoleChange, logRoleChange } from './role-change.js'
import messagesRoute from './messages-route.js'
import realtimeRoutes from './routes.js'
import { closeEverySocket } from './shutdown.js'
import { Admission } from './admission.js'
import { ChannelPresence } from './channel-presence.js'
import { ClusterStats } from './cluster-stats.js'
import { RealtimeStats } from './stats.js'
import { UpgradeRouter } from './upgrade.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
    realtimeStats: RealtimeStats
    /** Every instance's figures and their sum, for /admin/ws, get_stats and GET /admin/stats. */
    clusterStats: ClusterStats
    /** Where feature plugins register the socket message types they answer (see handlers.ts). */
    socketHandlers: MessageHandlers
    /** What every socket shares, for other socket endpoints (Socket.IO) that join the same hub. */
    realtimeContext: RealtimeContext
    /** The one owner of the server's `upgrade` event: another WebSocket endpoint claims its path here (see upgrade.ts). */
    upgrades: UpgradeRouter
  }
}

/** The hub, its WebSocket server and the routes that feed it. */
export default fp<{ config: Config, clock: Clock }>(async (fastify, { config, clock }) => {
  const hub = new Hub()
  const stats = new RealtimeStats(hub, fastify.instanceId)
  fastify.decorate('hub', hub)
  fastify.decorate('realtimeStats', stats)
  const clusterStats = new ClusterStats(stats, fastify.broker, config.statsIntervalMs)
  fastify.decorate('clusterStats', clusterStats)
  const policy = fastify.channelPolicy
  const handlers = new MessageHandlers(publishHandler(fastify.channelLog, policy))
  fastify.decorate('socketHandlers', handlers)
  const ctx: RealtimeContext = {
    admission: new Admission({ maxPerIp: config.wsMaxConnectionsPerIp, maxPending: config.wsMaxPending, maxPendingPerIp: config.wsMaxPendingPerIp }),
    hub,
    broker: fastify.broker,
    channelPolicy: policy,
    channelLog: fastify.channelLog,
    presence: fastify.presence,
    channelPresence: new ChannelPresence(hub, fastify.presence, policy, fastify.broker, fastify.log),
    authenticator: fastify.authenticator,
    handlers,
    stats,
    audit: fastify.audit,
    config,
    clock,
    log: fastify.log,
    connections: new Set<Connection>(),
    expiries: new ExpirySchedule<HubClient>(config.clockToleranceSeconds, (client) => { client.closeWith(Close.tokenExpired) }),
    statsUpdate: () => clusterStats.current(),
    // One instance counts its own sockets in the hub; several share their counts in Redis.
    connectionCounts: fastify.redis === undefined
      ? undefined
      : new RedisConnectionCounts({ redis: fastify.redis, prefix: config.redisKeyPrefix, instanceId: fastify.instanceId, log: fastify.log, leaseMs: config.instanceLeaseSeconds * 1000 })
  }
  registerBuiltinHandlers(handlers, ctx)
  fastify.decorate('realtimeContext', ctx)

  /** An admin changed a user's roles: that user's open sockets here take them, and leave channels they no longer allow. */
  function applyUserRoles (username: string, roles: readonly string[]): void {
    // Role changes are rare admin actions, so a walk over this instance's sockets is cheap enough.
    for (const conn of ctx.connections) {
      const change = applyRoleChange(conn, username, roles, policy)
      if (change !== undefined) logRoleChange(fastify.log, conn, username, change)
    }
  }

  fastify.broker.subscribe((event) => {
    switch (event.kind) {
      case 'broadcast': stats.sent(hub.deliver(event.channel, event.frame)); break
      case 'revoke-session': hub.closeSession(event.sid, Close.sessionRevoked); break
      case 'revoke-user': hub.closeUser(event.username, Close.sessionRevoked); break
      case 'user-roles': applyUserRoles(event.username, event.roles); break
    }
  })

  // No server of its own: the upgrade router hands it the sockets that pass the handshake.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.wsMaxPayload,
    // Off by default (CPU and memory per socket); ws applies maxPayload after inflation.
    perMessageDeflate: config.wsPerMessageDeflate,
    // Select `bearer` when offered so the browser accepts the handshake; the
    // token that follows it is never echoed back.
    handleProtocols: (protocols) => protocols.has(BEARER_SUBPROTOCOL) ? BEARER_SUBPROTOCOL : false
  })
  const upgrades = new UpgradeRouter((err, path) => { fastify.log.error({ err, path }, 'websocket upgrade failed') })
  upgrades.attach(fastify.server)
  fastify.decorate('upgrades', upgrades)
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    const sockets = closeEverySocket(wss, ctx.connections, done)
    fastify.log.info({ sockets }, 'closing every socket with 1001')
  })

  const heartbeat = startHeartbeat(wss, config.wsPingIntervalMs)
  const revalidation = startRevalidation(hub, fastify.sessionStore, fastify.users, config.wsRevalidateIntervalMs, fastify.log)
  // Revocations published while Redis was down never arrived here: ask the database at once.
  fastify.broker.onReconnect(() => {
    fastify.log.info('broker reconnected: re-checking open sockets against the database')
    revalidation.now()
  })
  // Every instance publishes its figures each interval, watched or not, so any admin sees them all.
  const statsTicker = setInterval(() => {
    const update = clusterStats.publish()
    if (hub.hasChannel(ADMIN_CHANNEL)) hub.deliver(ADMIN_CHANNEL, JSON.stringify(update))
  }, config.statsIntervalMs)
  statsTicker.unref()
  fastify.addHook('onClose', async () => {
    heartbeat.stop()
    revalidation.stop()
    clearInterval(statsTicker)
    ctx.expiries.close()
    stats.close()
    upgrades.detach()
    await ctx.connectionCounts?.close()
  })

  await fastify.register(realtimeRoutes, { ctx, wss, upgrades, closing: () => closing })
  await fastify.register(messagesRoute)
}, { name: 'wsgate-realtime', dependencies: ['wsgate-auth', 'wsgate-broker', 'wsgate-audit', 'wsgate-redis', 'wsgate-channels', 'wsgate-channel-state'] })

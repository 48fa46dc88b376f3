import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { MIN_ADMIN_TOKEN_LENGTH, type Config } from '../config.js'
import { ReservedType } from '../protocol/index.js'
import { MemoryBackoff, type Backoff, type BackoffPolicy } from '../auth/backoff.js'
import { RedisBackoff } from '../auth/backoff-redis.js'
import { AdminLockout } from './lockout.js'
import { adminAuth, adminMessage, type AdminSocketDeps } from './socket-commands.js'

/**
 * Admin over the socket: registers `admin_auth`, `admin_command` and
 * `get_stats` in realtime's handler table, so realtime itself knows nothing
 * of admin. The lockout on failed `admin_auth` attempts is admin's own.
 */
export default fp<{ config: Config, clock: Clock }>(async (fastify, { config, clock }) => {
  if (config.adminToken !== undefined && config.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    // Production refuses to start with it (see config.ts); elsewhere a short PIN is a convenience.
    fastify.log.warn({ length: config.adminToken.length, minimum: MIN_ADMIN_TOKEN_LENGTH }, 'ADMIN_TOKEN is short enough to guess; production refuses it')
  }
  const policy: BackoffPolicy = { freeFailures: config.adminAuthFreeFailures, maxBackoffMs: config.adminAuthMaxBackoffSeconds * 1000 }
  const now = (): number => clock.now()
  // With Redis the counts are shared by every instance, so a guesser gains nothing by spreading over them.
  const counts: Backoff = fastify.redis === undefined
    ? new MemoryBackoff(policy, now)
    : new RedisBackoff({ redis: fastify.redis, prefix: config.redisKeyPrefix, scope: 'admin-auth', policy, log: fastify.log, now })
  const deps: AdminSocketDeps = {
    config,
    authenticator: fastify.authenticator,
    sessions: fastify.sessions,
    policy: fastify.channelPolicy,
    channelLog: fastify.channelLog,
    stats: fastify.clusterStats,
    audit: fastify.audit,
    log: fastify.log,
    lockout: new AdminLockout(counts)
  }
  const handlers = fastify.socketHandlers
  handlers.register(ReservedType.adminAuth, (conn, message) => { adminAuth(deps, conn, message) })
  handlers.register(ReservedType.adminCommand, (conn, message) => { adminMessage(deps, conn, message) })
  handlers.register(ReservedType.getStats, (conn, message) => { adminMessage(deps, conn, message) })
}, { name: 'wsgate-admin-socket', dependencies: ['wsgate-realtime', 'wsgate-redis', 'wsgate-channels', 'wsgate-channel-state'] })

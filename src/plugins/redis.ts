import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { closeRedis, openRedis } from '../broker/redis-connection.js'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The counters' connection (login throttle, admin lockout, connection leases); undefined without REDIS_URL. */
    redis: Redis | undefined
  }
}

/**
 * One Redis connection for the global counters, apart from the broker's
 * pub/sub pair: a subscribed connection can run no other command. Opened
 * only with REDIS_URL; a Redis unreachable at start fails the start.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  if (config.redisUrl === undefined) {
    fastify.decorate('redis', undefined)
    return
  }
  const redis = await openRedis({ url: config.redisUrl, name: 'counters', log: fastify.log })
  fastify.decorate('redis', redis)
  fastify.addHook('onClose', async () => {
    await closeRedis(redis)
  })
}, { name: 'wsgate-redis' })

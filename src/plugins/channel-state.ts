import fp from 'fastify-plugin'
import type { ChannelLog } from '../channels/history.js'
import { MemoryChannelLog } from '../channels/history-memory.js'
import { RedisChannelLog } from '../channels/history-redis.js'
import type { Presence } from '../channels/presence.js'
import { MemoryPresence } from '../channels/presence-memory.js'
import { RedisPresence } from '../channels/presence-redis.js'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Offsets, epochs and the kept messages of every channel; the one way a message enters a channel. */
    channelLog: ChannelLog
    /** Who is in the channels whose namespace has presence on. */
    presence: Presence
  }
}

/**
 * The channels' state: in this process, or in Redis (streams for history,
 * leased entries for presence) when REDIS_URL is set, so that any instance
 * can serve recovery and presence for sockets on any other.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const now = (): number => fastify.clock.now()
  const { redis, broker, instanceId, log } = fastify
  const channelLog: ChannelLog = redis === undefined
    ? new MemoryChannelLog(broker, now)
    : new RedisChannelLog({ redis, prefix: config.redisKeyPrefix, instanceId, broker, log, now })
  const presence: Presence = redis === undefined
    ? new MemoryPresence()
    : new RedisPresence({ redis, prefix: config.redisKeyPrefix, instanceId, log })
  fastify.decorate('channelLog', channelLog)
  fastify.decorate('presence', presence)
  // Before the Redis connection closes (plugins close in reverse order): presence gives back this instance's entries.
  fastify.addHook('onClose', async () => {
    await presence.close()
    await channelLog.close()
  })
}, { name: 'wsgate-channel-state', dependencies: ['wsgate-broker', 'wsgate-redis'] })

import { MemoryBroker, type Broker } from './broker.js'
import type { BrokerLog } from './log.js'

export interface BrokerSettings {
  readonly redisUrl: string | undefined
  readonly redisKeyPrefix: string
}

/**
 * The broker the configuration names: in-process unless REDIS_URL is set.
 * With Redis, start fails (naming the redacted URL) when it cannot be
 * reached, rather than running as an island that other instances never hear.
 */
export async function openBroker (settings: BrokerSettings, instanceId: string, log: BrokerLog): Promise<Broker> {
  if (settings.redisUrl !== undefined) {
    // ioredis is loaded only with REDIS_URL, so a single instance and the users CLI do not pay for it.
    const { RedisBroker } = await import('./redis.js')
    return await RedisBroker.connect({ url: settings.redisUrl, prefix: settings.redisKeyPrefix, instanceId, log })
  }
  return new MemoryBroker(instanceId)
}

import { MemoryBroker, type Broker } from './broker.js'
import type { BrokerLog } from './log.js'
import { RedisBroker } from './redis.js'

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
    return await RedisBroker.connect({ url: settings.redisUrl, prefix: settings.redisKeyPrefix, instanceId, log })
  }
  return new MemoryBroker(instanceId)
}

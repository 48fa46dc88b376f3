import { MemoryBroker, type Broker } from './broker.js'

export interface BrokerSettings {
  readonly redisUrl: string | undefined
  readonly redisKeyPrefix: string
}

/** The broker the configuration names: in-process unless REDIS_URL is set. */
export async function openBroker (settings: BrokerSettings, instanceId: string): Promise<Broker> {
  if (settings.redisUrl !== undefined) {
    // Wired with the Redis broker; until then a configured REDIS_URL is a hard error, not silently ignored.
    throw new Error('REDIS_URL is set but the Redis broker is not available yet')
  }
  return new MemoryBroker(instanceId)
}

import fp from 'fastify-plugin'
import type { Broker } from '../broker/broker.js'
import { openBroker } from '../broker/open.js'
import type { Config } from '../config.js'
import { newInstanceId } from '../instance-id.js'

declare module 'fastify' {
  interface FastifyInstance {
    broker: Broker
    /** This process's id in stats, metrics and broker events. */
    instanceId: string
  }
}

/** The event bus between instances; in-process, or Redis pub/sub with REDIS_URL. */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const instanceId = newInstanceId()
  fastify.decorate('instanceId', instanceId)
  const broker = await openBroker(config, instanceId, fastify.log)
  fastify.decorate('broker', broker)
  fastify.addHook('onClose', async () => {
    await broker.close()
  })
}, { name: 'wsgate-broker' })

import fp from 'fastify-plugin'
import { MemoryBroker, type Broker } from '../broker/broker.js'
import { newInstanceId } from '../instance-id.js'

declare module 'fastify' {
  interface FastifyInstance {
    broker: Broker
    /** This process's id in stats, metrics and broker events. */
    instanceId: string
  }
}

/** The event bus between instances; in-process until REDIS_URL wiring lands. */
export default fp(async (fastify) => {
  const instanceId = newInstanceId()
  fastify.decorate('instanceId', instanceId)
  const broker: Broker = new MemoryBroker(instanceId)
  fastify.decorate('broker', broker)
  fastify.addHook('onClose', async () => {
    await broker.close()
  })
}, { name: 'wsgate-broker' })

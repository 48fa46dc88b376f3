import fp from 'fastify-plugin'
import { MemoryBroker, type Broker } from '../realtime/broker.js'

declare module 'fastify' {
  interface FastifyInstance {
    broker: Broker
  }
}

/** The event bus between instances; in-process until REDIS_URL wiring lands. */
export default fp(async (fastify) => {
  const broker: Broker = new MemoryBroker()
  fastify.decorate('broker', broker)
  fastify.addHook('onClose', async () => {
    await broker.close()
  })
}, { name: 'wsgate-broker' })

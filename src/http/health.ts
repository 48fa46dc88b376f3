import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { ping } from '../store/migrations.js'
import { ApiError } from '../errors.js'
import { ErrorBody } from './schemas.js'

const Health = Type.Object({ status: Type.Literal('ok') })
const Ready = Type.Object({ status: Type.Literal('ready'), database: Type.Literal('ok'), broker: Type.String() })

/**
 * Liveness answers while the process runs. Readiness asks the database, and
 * the broker: an instance cut off from Redis still serves its own sockets,
 * but a load balancer should send new connections to one that reaches the
 * others (the broker logs the outage once, not on every probe).
 */
const healthRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.get('/health', {
    logLevel: 'warn',
    schema: { summary: 'Liveness', tags: ['ops'], response: { 200: Health } }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    logLevel: 'warn',
    schema: { summary: 'Readiness: the database answers and the broker reaches the other instances', tags: ['ops'], response: { 200: Ready, 503: ErrorBody } }
  }, async (request) => {
    try {
      await ping(fastify.db)
    } catch (err) {
      request.log.error({ err }, 'readiness check failed')
      throw new ApiError('unavailable', 'Database is not answering')
    }
    if (!fastify.broker.healthy) throw new ApiError('unavailable', 'Redis is not reachable: this instance serves only its own sockets until it reconnects')
    return { status: 'ready' as const, database: 'ok' as const, broker: fastify.broker.name }
  })
}

export default healthRoutes

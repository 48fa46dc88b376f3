import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { ADMIN_ROLE, requireRole } from '../auth/bearer.js'
import { ErrorBody } from '../http/schemas.js'

const Stats = Type.Object({
  instanceId: Type.String(),
  at: Type.Number(),
  connections: Type.Integer(),
  users: Type.Integer(),
  pending: Type.Integer(),
  refusedHandshakes: Type.Object({ connectionsPerIp: Type.Integer(), pendingPerIp: Type.Integer(), pendingTotal: Type.Integer() }),
  messagesInPerSecond: Type.Number(),
  messagesOutPerSecond: Type.Number(),
  authSuccessesLastMinute: Type.Integer(),
  authFailuresLastMinute: Type.Integer(),
  memory: Type.Object({ rss: Type.Integer(), heapUsed: Type.Integer() }),
  eventLoopDelayMs: Type.Object({ p50: Type.Number(), p99: Type.Number(), max: Type.Number() }),
  uptimeSeconds: Type.Integer()
})

/** `GET /admin/stats`: this instance's figures, as `/admin/ws` pushes them. */
const statsRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/admin/stats', {
    preHandler: requireRole(fastify.authenticator, ADMIN_ROLE),
    schema: {
      summary: 'Live statistics of this instance',
      tags: ['admin'],
      security: [{ bearerAuth: [] }],
      response: { 200: Stats, 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => fastify.realtimeStats.snapshot())
}

export default statsRoute

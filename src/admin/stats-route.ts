import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { ADMIN_ROLE, requireRole } from '../auth/bearer.js'
import { ErrorBody } from '../http/schemas.js'

const ChannelSize = Type.Object({ channel: Type.String(), subscribers: Type.Integer() })

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
  uptimeSeconds: Type.Integer(),
  channels: Type.Array(ChannelSize, { description: 'Subscribers per channel over every instance, busiest first, at most 100 (each instance row lists its own)' }),
  instances: Type.Array(Type.Object({ instanceId: Type.String() }, { additionalProperties: true }), { description: 'Every instance heard from in the last three stats intervals, this one included' }),
  total: Type.Object({
    instanceCount: Type.Integer(),
    connections: Type.Integer(),
    users: Type.Integer({ description: 'A sum of per-instance counts: a user with sockets on two instances counts twice' }),
    pending: Type.Integer(),
    messagesInPerSecond: Type.Number(),
    messagesOutPerSecond: Type.Number(),
    authSuccessesLastMinute: Type.Integer(),
    authFailuresLastMinute: Type.Integer()
  })
})

/** `GET /admin/stats`: this instance's figures, every instance's and their total, as `/admin/ws` pushes them. */
const statsRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/admin/stats', {
    preHandler: requireRole(fastify.authenticator, ADMIN_ROLE),
    schema: {
      summary: 'Live statistics of this instance and of every instance',
      tags: ['admin'],
      security: [{ bearerAuth: [] }],
      response: { 200: Stats, 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => fastify.clusterStats.current())
}

export default statsRoute

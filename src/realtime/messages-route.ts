import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requireBearer } from '../auth/bearer.js'
import { ApiError } from '../errors.js'
import { ErrorBody, bearerErrors } from '../http/schemas.js'
import { publishMessage } from './publish.js'

const OutgoingMessage = Type.Object({
  type: Type.String(),
  user: Type.String(),
  timestamp: Type.Number(),
  requestId: Type.String()
}, { additionalProperties: true })

/** `POST /messages`: a backend publishes exactly as a socket would. */
const messagesRoute: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.post('/messages', {
    preHandler: requireBearer(fastify.authenticator),
    schema: {
      summary: 'Publish a message to the hub; it is stamped and fanned out like one sent over /ws',
      tags: ['realtime'],
      security: [{ bearerAuth: [] }],
      body: Type.Object({ type: Type.String() }, { additionalProperties: true }),
      response: { 202: OutgoingMessage, 400: ErrorBody, ...bearerErrors }
    }
  }, async (request, reply) => {
    const principal = request.principal
    if (principal === null) throw new ApiError('invalidToken')
    const published = publishMessage(fastify.broker, request.body, principal.username)
    if (!published.ok) throw new ApiError('invalidRequest', published.error.message)
    request.log.info({ user: principal.username, channel: published.channel, requestId: published.message.requestId }, 'message published over REST')
    return await reply.code(202).send(published.message)
  })
}

export default messagesRoute

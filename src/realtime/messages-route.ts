import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requireBearer } from '../auth/bearer.js'
import { ApiError } from '../errors.js'
import { ErrorBody, bearerErrors } from '../http/schemas.js'
import { UserRate } from '../http/user-rate.js'
import { ErrorCode } from '../protocol/index.js'
import { publishMessage } from './publish.js'

const OutgoingMessage = Type.Object({
  type: Type.String(),
  channel: Type.String(),
  offset: Type.Integer({ description: 'The message\'s place in its channel (see subscribe and recover)' }),
  user: Type.String(),
  timestamp: Type.Number(),
  requestId: Type.String()
}, { additionalProperties: true })

/**
 * `POST /messages`: a backend publishes exactly as a socket would, within a
 * socket's limits: a body no larger than a frame (`WS_MAX_PAYLOAD`, 413
 * above) and the socket message rate per user (429 with `Retry-After`), so
 * that REST is no way around them. It is the server publishing: the channel
 * policy's `via: 'server'` rules apply (403 when they refuse).
 */
const messagesRoute: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { config } = fastify
  const rate = new UserRate(config.wsMessagesPerSecond, config.wsMessageBurst, fastify.clock)
  const authenticate = requireBearer(fastify.authenticator)
  fastify.post('/messages', {
    bodyLimit: config.wsMaxPayload,
    preHandler: async (request, reply) => {
      await authenticate(request, reply)
      const user = request.principal?.username
      if (user !== undefined && !rate.take(user)) {
        request.log.info({ user }, 'message over the per-user rate refused')
        // The rate is a whole number of messages per second, so one is free again within a second.
        throw new ApiError('rateLimited', `Over ${config.wsMessagesPerSecond} messages per second for this user`, { 'retry-after': '1' })
      }
    },
    schema: {
      summary: 'Publish a message to the hub; it is stamped and fanned out like one sent over /ws',
      tags: ['realtime'],
      security: [{ bearerAuth: [] }],
      body: Type.Object({ type: Type.String() }, { additionalProperties: true }),
      response: { 202: OutgoingMessage, 400: ErrorBody, ...bearerErrors, 403: ErrorBody, 413: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    const principal = request.principal
    if (principal === null) throw new ApiError('invalidToken')
    const published = publishMessage(fastify.channelLog, fastify.channelPolicy, request.body, { sender: principal, via: 'server' })
    if (!published.ok) {
      if (published.error.code === ErrorCode.forbidden) {
        request.log.info({ user: principal.username, reason: published.error.message }, 'message refused by the channel policy')
        throw new ApiError('forbidden', published.error.message)
      }
      throw new ApiError('invalidRequest', published.error.message)
    }
    const { offset } = await published.position
    request.log.info({ user: principal.username, channel: published.channel, offset, requestId: published.message.requestId }, 'message published over REST')
    return await reply.code(202).send({ ...published.message, channel: published.channel, offset })
  })
}

export default messagesRoute

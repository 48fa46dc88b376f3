import type { FastifyPluginAsync } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ADMIN_ROLE, requireRole } from '../auth/bearer.js'
import { ErrorBody } from '../http/schemas.js'
import { actorOf } from './users-routes.js'
import { SessionList, SessionParams, UsernameParams } from './schemas.js'
import { UserSessions } from './user-sessions.js'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } as const
const common = { tags: ['admin'], security: [{ bearerAuth: [] }] }

/** `/admin/users/:username/sessions…`: see and revoke a user's live sessions, for role `admin`. */
const adminSessionsRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const sessions = new UserSessions(fastify.users, fastify.sessionStore, fastify.sessions, fastify.audit)
  fastify.addHook('onRequest', requireRole(fastify.authenticator, ADMIN_ROLE))
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)

  fastify.get('/admin/users/:username/sessions', {
    schema: { ...common, summary: 'A user\'s live sessions: ids and times, never token hashes', params: UsernameParams, response: { 200: SessionList, ...errors } }
  }, async (request) => ({ sessions: await sessions.list(request.params.username) }))

  fastify.delete('/admin/users/:username/sessions/:sid', {
    schema: { ...common, summary: 'Revoke one session: its refresh token stops working and its sockets close', params: SessionParams, response: { 204: Type.Null({ description: 'Done' }), ...errors } }
  }, async (request, reply) => {
    await sessions.revoke(actorOf(request), request.params.username, request.params.sid)
    return await reply.code(204).send(null)
  })
}

export default adminSessionsRoutes

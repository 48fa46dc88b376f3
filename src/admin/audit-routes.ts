import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ADMIN_ROLE, requireRole } from '../auth/bearer.js'
import { ErrorBody } from '../http/schemas.js'
import { AuditPage, AuditQuerystring } from './schemas.js'

/** `GET /admin/audit`: the auth audit log, newest first, a page at a time. */
const adminAuditRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addHook('onRequest', requireRole(fastify.authenticator, ADMIN_ROLE))
  // Fastify's own Ajv here, unlike the user routes: it applies `limit`'s default and
  // refuses `limit=1.5`, which TypeBox's converter would quietly truncate to 1.

  fastify.get('/admin/audit', {
    schema: {
      summary: 'The audit log: token grants, revocations, WebSocket and admin auth, admin actions',
      description: 'Filter by user, outcome, kind and time; page with `before` = the previous page\'s `next`.',
      tags: ['admin'],
      security: [{ bearerAuth: [] }],
      querystring: AuditQuerystring,
      response: { 200: AuditPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }
    }
  }, async (request) => await fastify.auditQuery.page(request.query))
}

export default adminAuditRoutes

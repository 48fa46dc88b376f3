import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ADMIN_ROLE, requireRole } from '../auth/bearer.js'
import { ApiError } from '../errors.js'
import { ErrorBody } from '../http/schemas.js'
import { AccountService, type Actor } from './accounts.js'
import { Account, AccountList, CreateAccountBody, PasswordBody, RolesBody, UsernameParams } from './schemas.js'

export function actorOf (request: FastifyRequest): Actor {
  const principal = request.principal
  if (principal === null) throw new ApiError('invalidToken')
  return { username: principal.username, ip: request.ip, userAgent: request.headers['user-agent'] ?? null }
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } as const
const common = { tags: ['admin'], security: [{ bearerAuth: [] }] }
const NoContent = Type.Null({ description: 'Done' })

/** `/admin/users…`: user management for role `admin`. The logic is in AccountService. */
const adminUsersRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const accounts = new AccountService(fastify.users, fastify.passwords, fastify.sessions, fastify.audit, fastify.broker)
  // At onRequest, so a caller without the role learns nothing from body validation.
  fastify.addHook('onRequest', requireRole(fastify.authenticator, ADMIN_ROLE))
  // No coercion: `roles: "admin"` or a numeric password is refused, not reinterpreted.
  fastify.setValidatorCompiler(TypeBoxValidatorCompiler)

  fastify.get('/admin/users', {
    schema: { ...common, summary: 'List users (never their password hashes)', response: { 200: AccountList, 401: ErrorBody, 403: ErrorBody } }
  }, async () => ({ users: await accounts.list() }))

  fastify.post('/admin/users', {
    schema: { ...common, summary: 'Create a user', body: CreateAccountBody, response: { 201: Account, ...errors, 409: ErrorBody } }
  }, async (request, reply) => {
    const account = await accounts.create(actorOf(request), request.body)
    return await reply.code(201).send(account)
  })

  fastify.post('/admin/users/:username/disable', {
    schema: { ...common, summary: 'Disable a user: ends their sessions and closes their sockets', params: UsernameParams, response: { 200: Account, ...errors } }
  }, async (request) => await accounts.disable(actorOf(request), request.params.username))

  fastify.post('/admin/users/:username/enable', {
    schema: { ...common, summary: 'Enable a disabled user', params: UsernameParams, response: { 200: Account, ...errors } }
  }, async (request) => await accounts.enable(actorOf(request), request.params.username))

  fastify.delete('/admin/users/:username', {
    schema: { ...common, summary: 'Delete a user: ends their sessions and closes their sockets', params: UsernameParams, response: { 204: NoContent, ...errors } }
  }, async (request, reply) => {
    await accounts.remove(actorOf(request), request.params.username)
    return await reply.code(204).send(null)
  })

  fastify.put('/admin/users/:username/roles', {
    schema: { ...common, summary: 'Replace a user\'s roles (effective at their next request or connection)', params: UsernameParams, body: RolesBody, response: { 200: Account, ...errors } }
  }, async (request) => await accounts.setRoles(actorOf(request), request.params.username, request.body.roles))

  fastify.post('/admin/users/:username/password', {
    schema: { ...common, summary: 'Reset a user\'s password: ends their sessions and closes their sockets', params: UsernameParams, body: PasswordBody, response: { 204: NoContent, ...errors } }
  }, async (request, reply) => {
    await accounts.resetPassword(actorOf(request), request.params.username, request.body.password)
    return await reply.code(204).send(null)
  })
}

export default adminUsersRoutes

import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import { ApiError } from '../errors.js'
import { ErrorBody, bearerErrors } from '../http/schemas.js'
import { requireBearer } from './bearer.js'
import { MAX_LOGIN_PASSWORD_BYTES, checkPassword } from './login.js'
import { MeResponse, TestTokenResponse, TokenRequest, TokenResponse } from './schemas.js'
import { maskToken } from './tokens.js'

function noStore (reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

const authRoutes: FastifyPluginAsync<{ config: Config }> = async (instance, { config }) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  fastify.post('/token', {
    // No type coercion here: `username=a&username=b` must fail, not become "a".
    validatorCompiler: TypeBoxValidatorCompiler,
    attachValidation: true,
    schema: {
      summary: 'OAuth2 token endpoint (password grant)',
      tags: ['auth'],
      body: TokenRequest,
      response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    noStore(reply)
    if (request.validationError !== undefined) throw new ApiError('invalidRequest', 'Malformed token request: every field must be a single string')
    const body = request.body ?? {}
    const grantType = body.grant_type ?? 'password'
    if (grantType !== 'password') throw new ApiError('unsupportedGrantType', `Unsupported grant_type "${grantType.slice(0, 64)}"`)
    const { username, password } = body
    if (username === undefined || username === '' || password === undefined || password === '') {
      throw new ApiError('invalidRequest', 'username and password are required')
    }
    if (Buffer.byteLength(password) > MAX_LOGIN_PASSWORD_BYTES) {
      throw new ApiError('invalidRequest', `password must be at most ${MAX_LOGIN_PASSWORD_BYTES} bytes`)
    }
    const user = await checkPassword(fastify.users, fastify.passwords, username, password)
    if (user === undefined) {
      request.log.info({ username, ip: request.ip, outcome: 'failure' }, 'password grant refused')
      throw new ApiError('badCredentials', undefined, { 'www-authenticate': 'Bearer' })
    }
    const issued = fastify.tokens.issueAccess(user.username, user.roles, randomUUID())
    request.log.info({ username: user.username, ip: request.ip, outcome: 'success', jti: issued.claims.jti }, 'password grant issued')
    return { access_token: issued.token, token_type: 'bearer' as const, expires_in: issued.expiresIn }
  })

  if (config.testTokenEnabled) {
    fastify.get('/test-token', {
      schema: {
        summary: 'A non-expiring development token (never served in production)',
        tags: ['auth'],
        response: { 200: TestTokenResponse }
      }
    }, async (request, reply) => {
      noStore(reply)
      const token = fastify.tokens.testToken
      if (token === undefined) throw new ApiError('notFound')
      request.log.info({ token: maskToken(token) }, 'test token served')
      return {
        test_token: token,
        note: `Development only: does not expire, authenticates as "${config.testTokenUser}". Disabled when NODE_ENV=production.`
      }
    })
  }

  fastify.get('/me', {
    preHandler: requireBearer(fastify.authenticator),
    schema: {
      summary: 'Who the bearer token belongs to',
      tags: ['auth'],
      security: [{ bearerAuth: [] }],
      response: { 200: MeResponse, ...bearerErrors }
    }
  }, async (request) => {
    const principal = request.principal
    if (principal === null) throw new ApiError('invalidToken')
    return { username: principal.username, roles: [...principal.roles] }
  })
}

export default authRoutes

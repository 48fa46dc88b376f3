import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import { ApiError } from '../errors.js'
import { ErrorBody, bearerErrors } from '../http/schemas.js'
import { requireBearer } from './bearer.js'
import { grant, throttledError } from './grants.js'
import { MeResponse, RevokeRequest, RevokeResponse, TestTokenResponse, TokenRequest, TokenResponse } from './schemas.js'
import { maskToken } from './tokens.js'

function noStore (reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

const authRoutes: FastifyPluginAsync<{ config: Config }> = async (instance, { config }) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  // Every request per client IP, at onRequest: refused before the body is
  // parsed. Failed logins have their own, lower limits (login-throttle.ts).
  async function perIp (request: FastifyRequest): Promise<void> {
    const throttled = await fastify.loginThrottle.admitRequest(request.ip)
    if (throttled !== undefined) throw throttledError(throttled)
  }

  fastify.post('/token', {
    onRequest: perIp,
    // No type coercion here: `username=a&username=b` must fail, not become "a".
    validatorCompiler: TypeBoxValidatorCompiler,
    attachValidation: true,
    schema: {
      summary: 'OAuth2 token endpoint: password and refresh_token grants',
      tags: ['auth'],
      body: TokenRequest,
      response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    noStore(reply)
    if (request.validationError !== undefined) {
      fastify.audit.record({ kind: 'password_grant', username: null, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, outcome: 'failure', reason: 'malformed request' })
      throw new ApiError('invalidRequest', 'Malformed token request: every field must be a single string')
    }
    return await grant(fastify, request.body ?? {}, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null, log: request.log })
  })

  fastify.post('/token/revoke', {
    onRequest: perIp,
    validatorCompiler: TypeBoxValidatorCompiler,
    attachValidation: true,
    schema: {
      summary: 'RFC 7009 revocation: ends the session of a refresh or access token',
      tags: ['auth'],
      body: RevokeRequest,
      response: { 200: RevokeResponse, 400: ErrorBody, 429: ErrorBody }
    }
  }, async (request, reply) => {
    noStore(reply)
    const token = request.validationError === undefined ? request.body?.token : undefined
    if (token === undefined || token === '') throw new ApiError('invalidRequest', 'token is required')
    const revoked = await fastify.sessions.revokeToken(token, request.body.token_type_hint)
    request.log.info({ ip: request.ip, token: maskToken(token), revoked }, 'token revocation')
    fastify.audit.record({ kind: 'revoke', username: null, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, outcome: revoked === 'none' ? 'failure' : 'success', reason: revoked === 'none' ? 'unknown token' : `${revoked} token` })
    // RFC 7009 §2.2: 200 whether or not the token was known.
    return {}
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

import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { Config } from '../config.js'
import { TokenService } from '../auth/tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService
  }
}

/**
 * @fastify/jwt with the verifier pinned: fast-jwt accepts every algorithm
 * unless told, so HS512 or `none` would pass without `algorithms`.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  await fastify.register(jwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256' },
    verify: {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      // fast-jwt takes milliseconds here, unlike its other temporal options.
      clockTolerance: config.clockToleranceSeconds * 1000,
      // Clients reconnect with the same token: remember verified tokens (until
      // their exp) instead of repeating the HMAC and the JSON parse.
      cache: 1000
    }
  })
  fastify.decorate('tokens', new TokenService(fastify.jwt, config))
}, { name: 'wsgate-jwt' })

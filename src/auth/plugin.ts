import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { Authenticator } from './authenticator.js'
import { ensureDemoUser } from './demo-user.js'
import { MemoryLoginThrottle, type LoginThrottle, type ThrottlePolicy } from './login-throttle.js'
import { RedisLoginThrottle } from './login-throttle-redis.js'
import { SessionService } from './sessions.js'

declare module 'fastify' {
  interface FastifyInstance {
    authenticator: Authenticator
    sessions: SessionService
    loginThrottle: LoginThrottle
  }
}

/** Identity: ties tokens to the user store and seeds the demo account. */
export default fp<{ config: Config, clock: Clock }>(async (fastify, { config, clock }) => {
  fastify.decorate('authenticator', new Authenticator(fastify.tokens, fastify.identities))
  fastify.decorate('sessions', new SessionService(fastify.sessionStore, fastify.users, fastify.tokens, fastify.broker, config.refreshTokenDays))
  const policy: ThrottlePolicy = {
    requestsPerIpPerMinute: config.tokenRateLimit,
    ipFailuresPerMinute: config.loginIpFailuresPerMinute,
    pair: { freeFailures: config.loginFreeFailures, maxBackoffMs: config.loginMaxBackoffSeconds * 1000 },
    userMaxFailures: config.loginUserMaxFailures,
    userWindowMs: config.loginUserWindowMinutes * 60_000
  }
  const now = (): number => clock.now()
  // With Redis every instance counts into the same windows: spreading guesses over instances gains nothing.
  const throttle: LoginThrottle = fastify.redis === undefined
    ? new MemoryLoginThrottle(policy, now)
    : new RedisLoginThrottle({ redis: fastify.redis, prefix: config.redisKeyPrefix, policy, log: fastify.log, now })
  fastify.decorate('loginThrottle', throttle)
  fastify.decorateRequest('principal', null)
  await ensureDemoUser(config, fastify.users, fastify.passwords, fastify.log)
  if (config.jwtSecretGenerated) {
    fastify.log.warn('JWT_SECRET_KEY is not set: using a random secret for this run, so tokens will not survive a restart')
  }
}, { name: 'wsgate-auth', dependencies: ['wsgate-db', 'wsgate-jwt', 'wsgate-passwords', 'wsgate-broker', 'wsgate-redis'] })

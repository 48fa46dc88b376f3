import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.js'
import type { Authenticator } from './authenticator.js'
import { bearerToken } from './credentials.js'
import type { AuthFailure, Principal } from './principal.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

const DESCRIPTIONS: Record<AuthFailure | 'missing', string> = {
  missing: 'Missing bearer token',
  expired: 'Token expired',
  invalid: 'Invalid token',
  payload: 'Invalid token payload',
  revoked: 'Session revoked'
}

/** RFC 6750 §3: the challenge names the error so clients know to refresh. */
export function invalidTokenError (failure: AuthFailure | 'missing'): ApiError {
  const description = DESCRIPTIONS[failure]
  const challenge = failure === 'missing'
    ? 'Bearer'
    : `Bearer error="invalid_token", error_description="${description}"`
  return new ApiError('invalidToken', description, { 'www-authenticate': challenge })
}

export const ADMIN_ROLE = 'admin'

/** A preHandler that admits only requests carrying a valid access token. */
export function requireBearer (authenticator: Authenticator) {
  return async function bearerGuard (request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearerToken(request.headers.authorization)
    if (token === undefined) throw invalidTokenError('missing')
    const outcome = await authenticator.authenticate(token)
    if (!outcome.ok) throw invalidTokenError(outcome.failure)
    request.principal = outcome.principal
  }
}

/** As requireBearer, and the principal must hold `role` (403 otherwise). */
export function requireRole (authenticator: Authenticator, role: string) {
  const bearer = requireBearer(authenticator)
  return async function roleGuard (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await bearer(request, reply)
    if (request.principal?.roles.includes(role) !== true) throw new ApiError('forbidden', `Role "${role}" required`)
  }
}

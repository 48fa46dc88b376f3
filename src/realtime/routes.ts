import type { FastifyPluginAsync } from 'fastify'
import { authenticateHandshake, closeFor, type SocketAuth } from './auth-result.js'
import { Connection } from './connection.js'
import type { RealtimeContext } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    socketAuth: SocketAuth | undefined
  }
}

/**
 * `/ws`. Credentials are checked in `preValidation`, before the upgrade; the
 * upgrade then completes even on failure so that browsers can read the close
 * code (a 401 reaches a browser only as 1006).
 */
const realtimeRoutes: FastifyPluginAsync<{ ctx: RealtimeContext }> = async (fastify, { ctx }) => {
  fastify.decorateRequest('socketAuth', undefined)

  fastify.get('/ws', {
    websocket: true,
    preValidation: async (request) => {
      request.socketAuth = await authenticateHandshake(ctx.authenticator, request.query, request.headers, request.ip, request.log)
    }
  }, (socket, request) => {
    const conn = new Connection(socket, ctx, request.ip)
    const auth = request.socketAuth
    if (auth === undefined) conn.awaitAuthentication()
    else if (auth.ok) conn.open(auth.principal)
    else conn.closeWith(closeFor(auth.failure))
  })
}

export default realtimeRoutes

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
 * code (a 401 reaches a browser only as 1006). Clients that send no Origin
 * (websocat, Node, curl) are not browsers and cannot be victims of
 * cross-site WebSocket hijacking, so only a present, unlisted Origin fails.
 */
const realtimeRoutes: FastifyPluginAsync<{ ctx: RealtimeContext }> = async (fastify, { ctx }) => {
  fastify.decorateRequest('socketAuth', undefined)
  const origins = ctx.config.corsOrigins
  const allowedOrigins = origins === undefined ? undefined : new Set(origins)

  fastify.get('/ws', {
    websocket: true,
    preValidation: async (request) => {
      // CORS does not cover the WebSocket handshake: without this check any
      // page could open a socket with a victim's cookies or stored token.
      const origin = request.headers.origin
      if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.has(origin)) {
        request.log.info({ ip: request.ip, origin: origin.slice(0, 200) }, 'websocket origin refused')
        request.socketAuth = { ok: false, failure: 'origin' }
        return
      }
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

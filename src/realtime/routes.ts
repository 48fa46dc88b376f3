import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { authenticateHandshake, closeFor, type SocketAuth } from './auth-result.js'
import { Connection, type ConnectionKind } from './connection.js'
import type { RealtimeContext } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    socketAuth: SocketAuth | undefined
  }
  /** @fastify/cors reads `config.cors === false` to skip a route; its types do not declare it. */
  interface FastifyContextConfig {
    cors?: false
  }
}

interface AttachedResponse {
  _httpMessage?: { detachSocket?: (socket: unknown) => void } | null
}

/**
 * Lets the HTTP request of an upgraded socket be collected. @fastify/websocket
 * adds an 'error' listener whose closure holds the Fastify request and reply
 * for the socket's whole life, and Node leaves the ServerResponse attached to
 * the TCP socket. Together they are most of a socket's memory; the
 * Connection attaches its own 'error' listener right after this.
 */
function releaseHttpObjects (socket: WebSocket, request: FastifyRequest): void {
  socket.removeAllListeners('error')
  const tcp = request.raw.socket as typeof request.raw.socket & AttachedResponse
  tcp._httpMessage?.detachSocket?.(tcp)
}

/**
 * `/ws` and `/admin/ws`. Credentials are checked in `preValidation`, before
 * the upgrade; the upgrade then completes even on failure so that browsers
 * can read the close code (a 401 reaches a browser only as 1006). Clients
 * that send no Origin (websocat, Node, curl) are not browsers and cannot be
 * victims of cross-site WebSocket hijacking, so only a present, unlisted
 * Origin fails.
 */
const realtimeRoutes: FastifyPluginAsync<{ ctx: RealtimeContext }> = async (fastify, { ctx }) => {
  fastify.decorateRequest('socketAuth', undefined)
  const origins = ctx.config.corsOrigins
  const allowedOrigins = origins === undefined ? undefined : new Set(origins)

  async function checkHandshake (request: FastifyRequest): Promise<void> {
    // CORS does not cover the WebSocket handshake: without this check any
    // page could open a socket with a victim's stored token.
    const origin = request.headers.origin
    if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.has(origin)) {
      request.log.info({ ip: request.ip, origin: origin.slice(0, 200) }, 'websocket origin refused')
      request.socketAuth = { ok: false, failure: 'origin' }
      return
    }
    request.socketAuth = await authenticateHandshake(ctx, request.query, request.headers, request.ip, request.log)
  }

  /** Synchronous on purpose: listeners attach before any message can arrive. */
  function accept (kind: ConnectionKind) {
    return (socket: WebSocket, request: FastifyRequest): void => {
      releaseHttpObjects(socket, request)
      const conn = new Connection(socket, ctx, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }, kind)
      const auth = request.socketAuth
      if (auth === undefined) conn.awaitAuthentication()
      else if (auth.ok) conn.open(auth.principal)
      else conn.closeWith(closeFor(auth.failure))
    }
  }

  // CORS and helmet work on the HTTP reply, which an upgrade never sends (ws
  // writes the 101 itself): skipping them saves a tenth of a handshake's CPU.
  // The Origin check above is what protects the handshake.
  const options = { websocket: true, preValidation: checkHandshake, helmet: false, config: { cors: false } } as const
  fastify.get('/ws', options, accept('user'))
  fastify.get('/admin/ws', options, accept('admin'))
}

export default realtimeRoutes

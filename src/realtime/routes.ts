import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { findCredentials } from '../auth/credentials.js'
import { ApiErrors, errorBody, type ApiErrorName } from '../errors.js'
import { Admission, type PendingSlot, type Refusal } from './admission.js'
import { authenticateHandshake, closeFor, type SocketAuth } from './auth-result.js'
import { Connection } from './connection.js'
import type { ConnectionKind } from './endpoint.js'
import type { RealtimeContext } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    socketAuth: SocketAuth | undefined
    /** Set for a handshake without credentials: its place among the pending sockets. */
    pendingSlot: PendingSlot | undefined
  }
  /** @fastify/cors reads `config.cors === false` to skip a route; its types do not declare it. */
  interface FastifyContextConfig {
    cors?: false
  }
}

/** 429 when one address is over its share, 503 when the server as a whole is full. */
const REFUSED: Record<Refusal, { readonly error: ApiErrorName, readonly description: string }> = {
  connectionsPerIp: { error: 'rateLimited', description: 'Too many WebSocket connections from this address' },
  pendingPerIp: { error: 'rateLimited', description: 'Too many WebSocket connections from this address waiting to authenticate' },
  pendingTotal: { error: 'unavailable', description: 'Too many WebSocket connections waiting to authenticate; try again shortly' }
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
 * Origin fails. Before any of that, the caps on sockets per IP and on
 * sockets waiting to authenticate refuse the upgrade with an HTTP status.
 */
const realtimeRoutes: FastifyPluginAsync<{ ctx: RealtimeContext }> = async (fastify, { ctx }) => {
  fastify.decorateRequest('socketAuth', undefined)
  fastify.decorateRequest('pendingSlot', undefined)
  const admission = new Admission({ maxPerIp: ctx.config.wsMaxConnectionsPerIp, maxPending: ctx.config.wsMaxPending, maxPendingPerIp: ctx.config.wsMaxPendingPerIp })
  const origins = ctx.config.corsOrigins
  const allowedOrigins = origins === undefined ? undefined : new Set(origins)

  async function checkHandshake (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const credentials = findCredentials(request.query, request.headers)
    const admitted = admission.admit(request.ip, credentials.kind === 'none', request.raw.socket)
    if (!admitted.ok) {
      // No log line of its own: a flood would become a flood of lines. The stats count it.
      ctx.stats.refusedHandshakes[admitted.refusal]++
      const refused = REFUSED[admitted.refusal]
      void reply.code(ApiErrors[refused.error].status).send(errorBody(refused.error, refused.description))
      return reply
    }
    if (credentials.kind === 'none') request.pendingSlot = admitted.slot
    // CORS does not cover the WebSocket handshake: without this check any
    // page could open a socket with a victim's stored token.
    const origin = request.headers.origin
    if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.has(origin)) {
      request.log.info({ ip: request.ip, origin: origin.slice(0, 200) }, 'websocket origin refused')
      request.socketAuth = { ok: false, failure: 'origin' }
      return
    }
    if (credentials.kind !== 'none') {
      request.socketAuth = await authenticateHandshake(ctx, credentials, request.ip, request.headers['user-agent'] ?? null, request.log)
    }
  }

  /** Synchronous on purpose: listeners attach before any message can arrive. */
  function accept (kind: ConnectionKind) {
    return (socket: WebSocket, request: FastifyRequest): void => {
      releaseHttpObjects(socket, request)
      const conn = new Connection(socket, ctx, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }, kind)
      const auth = request.socketAuth
      if (auth === undefined) conn.awaitAuthentication(request.pendingSlot)
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

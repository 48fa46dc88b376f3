import type { Socket } from 'socket.io'
import { Close, type CloseSpec } from '../protocol/index.js'
import { authenticateHandshake, authenticateSocket, closeFor } from '../realtime/auth-result.js'
import type { RealtimeContext } from '../realtime/context.js'
import { handshakeCredentials } from './credentials.js'
import type { SocketIoRegistry } from './registry.js'
import { SocketIoClient } from './socket-client.js'

/** A CONNECT on a session that has a client already: the session is closed, as Socket.IO closes one that connects twice. */
function duplicate (registry: SocketIoRegistry, socket: Socket): boolean {
  if (!registry.holds(socket.conn)) return false
  socket.conn.close()
  return true
}

export interface HandshakeDeps {
  readonly ctx: RealtimeContext
  readonly registry: SocketIoRegistry
  /** CORS_ORIGINS; undefined lets every Origin in. */
  readonly allowedOrigins: ReadonlySet<string> | undefined
  /** The client address of an Engine.IO session, read when it opened. */
  readonly ipOf: (socket: Socket) => string
  /** True when the session was over its address's cap of sockets (both kinds together) when it opened. */
  readonly overIpCap: (socket: Socket) => boolean
}

/**
 * The checks `/ws` makes before a socket joins the hub, in its order: the
 * Origin rule, the token (signature, expiry, session, user), then the
 * user's socket limit, counted with `/ws` sockets (and across instances
 * with Redis). Returns the admitted client, or the close `/ws` would have
 * used. A present, unlisted Origin is refused here rather than by
 * Engine.IO's `allowRequest`, so that the client reads the reason in
 * `connect_error` as a `/ws` client reads it in the close frame.
 */
export async function admit (deps: HandshakeDeps, socket: Socket): Promise<SocketIoClient | CloseSpec> {
  const { ctx, registry } = deps
  if (duplicate(registry, socket)) return Close.forbidden
  if (deps.overIpCap(socket)) return Close.tooManyConnections
  const { headers } = socket.handshake
  const ip = deps.ipOf(socket)
  const origin = headers.origin
  if (deps.allowedOrigins !== undefined && origin !== undefined && !deps.allowedOrigins.has(origin)) {
    ctx.log.info({ ip, origin: origin.slice(0, 200) }, 'socket.io origin refused')
    return Close.originNotAllowed
  }
  const userAgent = headers['user-agent'] ?? null
  const credentials = handshakeCredentials(socket.handshake.auth, socket.request.url, headers)
  if (credentials.kind === 'none') return Close.missingToken
  const outcome = credentials.kind === 'auth'
    ? await authenticateSocket(ctx, { ip, userAgent, token: credentials.token, source: 'socketio-auth' }, ctx.log)
    : await authenticateHandshake(ctx, credentials, ip, userAgent)
  if (credentials.kind !== 'auth') {
    // authenticateSocket logs its own line; the handshake's other credential forms get the same one here.
    ctx.log.info({ ip, source: `socketio-${credentials.kind}`, outcome: outcome.ok ? 'success' : 'failure', ...(outcome.ok ? { user: outcome.principal.username } : { failure: outcome.failure }) }, outcome.ok ? 'websocket auth succeeded' : 'websocket auth failed')
  }
  if (!outcome.ok) return closeFor(outcome.failure)
  const { principal } = outcome
  const max = ctx.config.wsMaxConnectionsPerUser
  if (ctx.hub.connectionsOf(principal.username) + registry.admittingOf(principal.username) >= max) return Close.tooManyConnections
  if (duplicate(registry, socket)) return Close.forbidden
  const client = new SocketIoClient(socket, ctx, registry, { ip, userAgent }, principal)
  const counts = ctx.connectionCounts
  if (counts !== undefined) {
    client.leaseFrom(principal.username)
    let acquired = false
    try {
      acquired = await counts.acquire(principal.username, client.connectionId, max)
    } finally {
      if (!acquired) client.release()
    }
    if (!acquired) return Close.tooManyConnections
  }
  // The client went away while the token or the count was checked.
  if (client.isClosed || socket.conn.readyState !== 'open') {
    client.release()
    return Close.internalError
  }
  return client
}

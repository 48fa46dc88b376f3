import type { FastifyInstance } from 'fastify'
import { Server, type DefaultEventsMap } from 'socket.io'
import type { Config } from '../config.js'
import { Close } from '../protocol/index.js'
import { applyRoleChange, logRoleChange } from '../realtime/role-change.js'
import { clientIpOf } from './client-ip.js'
import { admit, type HandshakeDeps } from './handshake.js'
import { refusalError } from './refusal.js'
import { SocketIoRegistry } from './registry.js'
import { EngineSessions, type EngineSession } from './sessions.js'
import type { SocketIoClient } from './socket-client.js'

/** What the handshake middleware leaves on a socket for the `connection` handler. */
interface SocketData {
  client?: SocketIoClient
}

/**
 * Attaches a Socket.IO 4 server to Fastify's HTTP server, at SOCKETIO_PATH,
 * with the websocket and polling transports. Its sockets are hub members
 * like `/ws` ones (see SocketIoClient); Socket.IO's own rooms and adapter
 * are not used, so channels, fan-out across instances, revocations and kicks
 * all go through wsgate's hub and broker.
 */
export function startSocketIo (fastify: FastifyInstance, config: Config): void {
  const ctx = fastify.realtimeContext
  const registry = new SocketIoRegistry()
  const path = config.socketIoPath
  // The upgrade router (src/realtime/upgrade.ts) leaves this path to Engine.IO's own upgrade listener.
  fastify.upgrades.claim(`${path}/`)
  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>(fastify.server, {
    path,
    serveClient: false,
    // Same list as the HTTP API's CORS; every origin when none is configured (development).
    cors: { origin: config.corsOrigins === undefined ? true : [...config.corsOrigins] },
    // The same bound as a /ws frame: Engine.IO closes a websocket (1009) or answers 413 to a poll above it.
    maxHttpBufferSize: config.wsMaxPayload,
    // Engine.IO must leave the other upgrades (/ws, /admin/ws) to their owner.
    destroyUpgrade: false,
    // An Engine.IO session that sends no CONNECT is closed as a /ws socket that never authenticates.
    connectTimeout: config.wsAuthTimeoutMs,
    pingInterval: config.wsPingIntervalMs
  })

  const sessions = new EngineSessions(io, clientIpOf(config.trustProxy))
  const allowedOrigins = config.corsOrigins === undefined ? undefined : new Set(config.corsOrigins)
  // WS_MAX_CONNECTIONS_PER_IP counts Engine.IO sessions with /ws sockets: an address over it is refused
  // at its CONNECT (connect_error "Too many connections") and its session closed.
  const overCap = new WeakSet<object>()
  io.engine.on('connection', (session: EngineSession) => {
    const admitted = ctx.admission.admit(sessions.ipOf(session) ?? '', false, session)
    if (admitted.ok) return
    ctx.stats.refusedHandshakes[admitted.refusal]++
    overCap.add(session)
  })
  const deps: HandshakeDeps = {
    ctx,
    registry,
    allowedOrigins,
    ipOf: (socket) => sessions.ipOf(socket.conn) ?? socket.handshake.address,
    overIpCap: (socket) => overCap.has(socket.conn)
  }

  io.use((socket, next) => {
    admit(deps, socket).then((admitted) => {
      if ('code' in admitted) {
        next(refusalError(admitted))
        // Not admitted, so not counted: it must not stay open either. Socket.IO writes the refusal on a
        // later tick; engine.io's close waits for its write buffer to drain, so the client still reads it.
        if (overCap.has(socket.conn)) setImmediate(() => { socket.conn.close() })
        return
      }
      socket.data.client = admitted
      next()
    }, (err: unknown) => {
      ctx.log.error({ err }, 'socket.io handshake failed')
      next(refusalError(Close.internalError))
    })
  })
  io.on('connection', (socket) => {
    const client = socket.data.client
    if (client === undefined) socket.disconnect(true)
    else client.open()
  })

  // realtime applies role changes to its own sockets; these are this endpoint's.
  fastify.broker.subscribe((event) => {
    if (event.kind !== 'user-roles') return
    for (const client of registry.all()) {
      const change = applyRoleChange(client, event.username, event.roles, ctx.channelPolicy)
      if (change !== undefined) logRoleChange(fastify.log, client, event.username, change)
    }
  })

  fastify.addHook('preClose', (done) => {
    const sockets = sessions.closeAll(registry, done)
    fastify.log.info({ sockets }, 'disconnecting every socket.io socket')
  })
  fastify.log.info({ path }, 'socket.io endpoint on')
}

import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import type { DestinationStream } from 'pino'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import adminAuditRoutes from './admin/audit-routes.js'
import adminSessionsRoutes from './admin/sessions-routes.js'
import adminSocketPlugin from './admin/socket-plugin.js'
import adminStatsRoute from './admin/stats-route.js'
import adminUsersRoutes from './admin/users-routes.js'
import authPlugin from './auth/plugin.js'
import authRoutes from './auth/routes.js'
import errorHandler from './http/error-handler.js'
import healthRoutes from './http/health.js'
import metricsRoute from './http/metrics.js'
import openapi from './http/openapi.js'
import { clientErrorHandler } from './http/client-errors.js'
import { trustProxyOption } from './http/client-ip.js'
import { serializeRequest } from './http/logging.js'
import auditPlugin from './plugins/audit.js'
import brokerPlugin from './plugins/broker.js'
import channelsPlugin from './plugins/channels.js'
import redisPlugin from './plugins/redis.js'
import channelStatePlugin from './plugins/channel-state.js'
import dbPlugin from './plugins/db.js'
import jwtPlugin from './plugins/jwt.js'
import passwordsPlugin from './plugins/passwords.js'
import realtimePlugin from './realtime/plugin.js'
import socketIoPlugin from './socketio/plugin.js'
import webPages from './web/plugin.js'

export interface BuildOptions {
  /** Where logs go instead of stdout; tests read it to prove no secret is logged. */
  readonly logStream?: DestinationStream
  /** Time for elevation, message rates and login backoff; tests move it by hand. */
  readonly clock?: Clock
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The clock of BuildOptions, for routes that keep their own time windows. */
    clock: Clock
  }
}

/** Composition only: every behaviour lives in the plugins registered here. */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      serializers: { req: serializeRequest },
      ...(options.logStream !== undefined ? { stream: options.logStream } : {})
    },
    // A whole JSON body or form over 1 MiB is refused with 413 before parsing.
    bodyLimit: 1024 * 1024,
    // Off unless configured: otherwise any client picks its IP with X-Forwarded-For.
    trustProxy: trustProxyOption(config.trustProxy),
    // Fastify leaves these at 0 (never): a client that sends its headers and
    // then trickles or stalls its body would hold a connection forever.
    requestTimeout: config.httpRequestTimeoutMs,
    connectionTimeout: config.httpConnectionTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    // Node checks the request and headers deadlines only every
    // connectionsCheckingInterval (30 s by default); check often enough that a
    // deadline is kept to within a quarter of the headers timeout, at most 1 s late.
    // (requestTimeout repeated here: Node checks headersTimeout against it at creation.)
    http: { requestTimeout: config.httpRequestTimeoutMs, headersTimeout: config.httpHeadersTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(config.httpHeadersTimeoutMs / 4))) },
    // 408 and other parser errors in the API's error body, and logged.
    clientErrorHandler
  })
  app.decorate('config', config)
  const clock = options.clock ?? systemClock
  app.decorate('clock', clock)

  await app.register(errorHandler)
  await app.register(formbody)
  await app.register(helmet)
  await app.register(cors, { origin: config.corsOrigins === undefined ? true : [...config.corsOrigins] })
  // Before every route plugin: it collects routes as they are added.
  if (config.docsEnabled) await app.register(openapi)
  // First of the stateful plugins: a bad CHANNELS_FILE stops the start before a database or Redis is opened.
  await app.register(channelsPlugin, { config })
  await app.register(dbPlugin, { databaseUrl: config.databaseUrl })
  await app.register(auditPlugin)
  await app.register(passwordsPlugin, { cost: config.bcryptCost, size: config.bcryptThreads, nice: config.bcryptNice })
  await app.register(jwtPlugin, { config })
  await app.register(brokerPlugin, { config })
  await app.register(redisPlugin, { config })
  await app.register(channelStatePlugin, { config })
  await app.register(authPlugin, { config, clock })
  await app.register(realtimePlugin, { config, clock })
  await app.register(adminSocketPlugin, { config, clock })
  await app.register(socketIoPlugin, { config })
  await app.register(authRoutes, { config })
  await app.register(adminUsersRoutes)
  await app.register(adminSessionsRoutes)
  await app.register(adminAuditRoutes)
  await app.register(adminStatsRoute)
  await app.register(healthRoutes)
  await app.register(metricsRoute)
  await app.register(webPages)
  return app
}

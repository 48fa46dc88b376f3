import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { invalidTokenError } from '../auth/bearer.js'
import { bearerToken } from '../auth/credentials.js'
import { sameSecret } from '../auth/same-secret.js'
import { authOutcomeLabels } from './auth-metrics.js'

export const METRICS_OFF_IN_PRODUCTION = 'GET /metrics is off: NODE_ENV=production and METRICS_TOKEN is not set; set METRICS_TOKEN to serve it to scrapers that present it as a Bearer token'

/** Broker delivery lag buckets, in seconds: same-host Redis is sub-millisecond, a struggling one seconds. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/**
 * GET /metrics in Prometheus' text format: the process (prom-client's
 * defaults, event-loop delay included) and this instance's hub, broker,
 * bcrypt pool and auth outcomes. Figures the app already keeps are read when
 * scraped, so the hot path only increments what it did before. With
 * METRICS_TOKEN set, a scrape must present it as a Bearer token; production
 * without it does not serve /metrics at all.
 */
const metricsRoute: FastifyPluginAsync = async (fastify) => {
  const { hub, realtimeStats: stats, config, broker, passwords } = fastify
  if (config.isProduction && config.metricsToken === undefined) {
    fastify.log.warn(METRICS_OFF_IN_PRODUCTION)
    return
  }
  const register = new Registry()
  register.setDefaultLabels({ instance_id: stats.instanceId })
  collectDefaultMetrics({ register, prefix: 'wsgate_' })
  // Each metric registers itself; prom-client calls collect() with the metric as `this` at scrape time.
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [register], collect () { this.set(read()) } })
  }
  gauge('wsgate_ws_connections', 'Authenticated WebSocket connections on this instance', () => hub.size)
  gauge('wsgate_ws_users', 'Distinct users connected to this instance', () => hub.userCount)
  gauge('wsgate_ws_pending', 'Sockets waiting to authenticate', () => stats.pending)
  gauge('wsgate_bcrypt_queue_depth', 'Password hashes and compares waiting for a free bcrypt worker', () => passwords.queueDepth)
  gauge('wsgate_broker_healthy', '1 while the broker reaches the other instances, else 0', () => broker.healthy ? 1 : 0)
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [register], collect () { this.reset(); this.inc(read()) } })
  }
  counter('wsgate_ws_messages_received_total', 'Messages received from sockets', () => stats.totals.messagesIn)
  counter('wsgate_ws_messages_delivered_total', 'Messages written to sockets', () => stats.totals.messagesOut)
  counter('wsgate_broker_publish_errors_total', 'Broker publishes that did not reach the other instances', () => broker.publishErrors)
  new Counter({
    name: 'wsgate_ws_handshakes_refused_total',
    help: 'Upgrades refused by a connection cap, by cap',
    labelNames: ['cap'],
    registers: [register],
    collect () {
      this.reset()
      for (const [cap, n] of Object.entries(stats.refusedHandshakes)) this.inc({ cap }, n)
    }
  })

  const lag = new Histogram({ name: 'wsgate_broker_delivery_lag_seconds', help: 'Age of events from other instances when they arrive here', buckets: LAG_BUCKETS, registers: [register] })
  broker.onRemoteDelivery((lagMs) => { lag.observe(Math.max(0, lagMs) / 1000) })
  const auth = new Counter({
    name: 'wsgate_auth_attempts_total',
    help: 'Logins, refreshes, socket and admin authentications, by kind, outcome and reason (a fixed set)',
    labelNames: ['kind', 'outcome', 'reason'],
    registers: [register]
  })
  fastify.observeAudit((event) => {
    const labels = authOutcomeLabels(event)
    if (labels !== undefined) auth.inc({ ...labels })
  })
  fastify.addHook('onClose', async () => { register.clear() })

  const authorized = (request: FastifyRequest): boolean => {
    if (config.metricsToken === undefined) return true
    const token = bearerToken(request.headers.authorization)
    return token !== undefined && sameSecret(token, config.metricsToken)
  }

  fastify.get('/metrics', {
    logLevel: 'warn',
    schema: { summary: 'Prometheus metrics (Bearer METRICS_TOKEN when set; off in production without it)', tags: ['ops'] }
  }, async (request, reply) => {
    if (!authorized(request)) throw invalidTokenError(request.headers.authorization === undefined ? 'missing' : 'invalid')
    return await reply.type(register.contentType).send(await register.metrics())
  })
}

export default metricsRoute

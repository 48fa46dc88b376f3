import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { invalidTokenError } from '../auth/bearer.js'
import { bearerToken } from '../auth/credentials.js'
import { sameSecret } from '../auth/same-secret.js'

/**
 * GET /metrics in Prometheus' text format: the process (prom-client's
 * defaults) and this instance's hub, read when scraped so the hot path only
 * increments the fields it already keeps. With METRICS_TOKEN set, a scrape
 * must present it as a Bearer token.
 */
const metricsRoute: FastifyPluginAsync = async (fastify) => {
  const { hub, realtimeStats: stats, config } = fastify
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
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [register], collect () { this.reset(); this.inc(read()) } })
  }
  counter('wsgate_ws_messages_received_total', 'Messages received from sockets', () => stats.totals.messagesIn)
  counter('wsgate_ws_messages_delivered_total', 'Messages written to sockets', () => stats.totals.messagesOut)
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
  fastify.addHook('onClose', async () => { register.clear() })

  const authorized = (request: FastifyRequest): boolean => {
    if (config.metricsToken === undefined) return true
    const token = bearerToken(request.headers.authorization)
    return token !== undefined && sameSecret(token, config.metricsToken)
  }

  fastify.get('/metrics', {
    logLevel: 'warn',
    schema: { summary: 'Prometheus metrics (Bearer METRICS_TOKEN when set)', tags: ['ops'] }
  }, async (request, reply) => {
    if (!authorized(request)) throw invalidTokenError(request.headers.authorization === undefined ? 'missing' : 'invalid')
    return await reply.type(register.contentType).send(await register.metrics())
  })
}

export default metricsRoute

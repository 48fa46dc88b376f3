import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { WebSocketServer } from 'ws'
import { errorBody } from '../errors.js'
import { clientIpOf } from '../http/client-ip.js'
import type { RealtimeContext } from './context.js'
import { realtimeHandshake } from './upgrade-handshake.js'
import type { UpgradeRouter } from './upgrade.js'

export interface RealtimeRoutesOptions {
  readonly ctx: RealtimeContext
  readonly wss: WebSocketServer
  readonly upgrades: UpgradeRouter
  /** True once shutdown began: new handshakes are refused with 503. */
  readonly closing: () => boolean
}

/**
 * `/ws` and `/admin/ws`. Their upgrades are handled in the server's
 * `upgrade` listener (see upgrade-handshake.ts), with one set of handshake
 * caps for both; a plain GET without `Upgrade: websocket` reaches Fastify
 * and is told 426 Upgrade Required.
 */
const realtimeRoutes: FastifyPluginAsync<RealtimeRoutesOptions> = async (fastify, { ctx, wss, upgrades, closing }) => {
  const { config } = ctx
  const { admission } = ctx
  const deps = {
    ctx,
    wss,
    admission,
    allowedOrigins: config.corsOrigins === undefined ? undefined : new Set(config.corsOrigins),
    clientIp: clientIpOf(config.trustProxy),
    closing
  }
  upgrades.route('/ws', realtimeHandshake(deps, 'user'))
  upgrades.route('/admin/ws', realtimeHandshake(deps, 'admin'))

  async function upgradeRequired (_request: unknown, reply: FastifyReply): Promise<FastifyReply> {
    return await reply.code(426).header('upgrade', 'websocket')
      .send(errorBody('invalidRequest', 'This endpoint speaks WebSocket only: send the request with Upgrade: websocket'))
  }
  fastify.get('/ws', { schema: { hide: true } }, upgradeRequired)
  fastify.get('/admin/ws', { schema: { hide: true } }, upgradeRequired)
}

export default realtimeRoutes

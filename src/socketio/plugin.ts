import fp from 'fastify-plugin'
import type { Config } from '../config.js'

/**
 * The Socket.IO 4 endpoint (SOCKETIO_ENABLED), for frontends written against
 * Socket.IO. Off, it costs an `if`: socket.io and the rest of this folder are
 * imported only when it is on.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  if (!config.socketIoEnabled) return
  const { startSocketIo } = await import('./endpoint.js')
  startSocketIo(fastify, config)
}, { name: 'wsgate-socketio', dependencies: ['wsgate-realtime', 'wsgate-broker', 'wsgate-channels'] })

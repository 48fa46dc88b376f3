import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { TrustProxy } from '../config.js'

/**
 * The client address of a handshake request by the TRUST_PROXY rule that
 * gives Fastify's `request.ip` (app.ts turns a hop count into the same
 * function), so the audit log and the admin lockout see one address per
 * client whichever endpoint it used. Read while the request is live: a
 * polling session outlives its first request's TCP socket.
 */
export function clientIpOf (trust: TrustProxy): (request: IncomingMessage) => string {
  if (trust === false) return (request) => request.socket.remoteAddress ?? ''
  const trusted = trust === true
    ? () => true
    : typeof trust === 'number'
      ? (_address: string, hop: number) => hop < trust
      : proxyAddr.compile([...trust])
  return (request) => request.socket.remoteAddress === undefined ? '' : proxyAddr(request, trusted)
}

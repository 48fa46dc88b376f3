import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * Keeps the server's existing upgrade listeners (@fastify/websocket's, which
 * routes every upgrade through Fastify and answers 404 where no route is)
 * away from upgrades under `prefix`, which Engine.IO takes. Engine.IO does
 * the same for plain requests when it attaches; with `destroyUpgrade: false`
 * it leaves every other upgrade alone, so each upgrade has one owner.
 */
export function leaveUpgradesUnder (server: Server, prefix: string): void {
  const others = server.listeners('upgrade') as UpgradeListener[]
  for (const listener of others) server.removeListener('upgrade', listener)
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.url?.startsWith(prefix) === true) return
    for (const listener of others) listener.call(server, request, socket, head)
  })
}

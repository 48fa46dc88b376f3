import type { Duplex } from 'node:stream'

let timeoutKey: symbol | undefined

/**
 * Lets go of the idle timer the HTTP server gave the socket (Fastify's
 * `connectionTimeout`) once it carries a WebSocket. ws turns it off on
 * upgrade with `setTimeout(0)`, but Node clears the timer without dropping
 * it: every open socket would keep a dead Timeout, its bound callback and
 * its numbers, ≈ 230 bytes. Node's own sockets start with that slot null,
 * which is what this restores; a Node that names it otherwise is left as is.
 */
export function dropClearedTimeout (socket: Duplex): void {
  if ((socket as Duplex & { timeout?: number }).timeout !== 0) return
  timeoutKey ??= Object.getOwnPropertySymbols(socket).find((key) => key.description === 'timeout')
  if (timeoutKey === undefined) return
  const slots = socket as unknown as Record<symbol, unknown>
  if (slots[timeoutKey] !== null && slots[timeoutKey] !== undefined) slots[timeoutKey] = null
}

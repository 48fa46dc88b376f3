import type { WebSocketServer } from 'ws'
import type { Connection } from './connection.js'
import { Close } from '../protocol/index.js'

/** How long peers have to answer the 1001 close frame before their sockets are cut. */
export const CLOSE_GRACE_MS = 2000

/**
 * Shutdown: every socket gets 1001 "Server shutting down", pending and
 * authenticating ones included, then `done` runs once all are gone. A peer
 * that never answers its close frame is cut after CLOSE_GRACE_MS rather
 * than after ws's 30 s close timeout, so the process exits well within its
 * forced-exit bound. Returns how many sockets were told.
 */
export function closeEverySocket (wss: WebSocketServer, connections: Iterable<Connection>, done: () => void): number {
  const targets = [...connections]
  for (const conn of targets) conn.closeWith(Close.shuttingDown)
  const cut = setTimeout(() => {
    for (const ws of wss.clients) ws.terminate()
  }, CLOSE_GRACE_MS)
  // Calls back when the last client is gone; later upgrades are refused with 503.
  wss.close(() => {
    clearTimeout(cut)
    done()
  })
  return targets.length
}

import type { WebSocket, WebSocketServer } from 'ws'

interface Beating {
  isAlive?: boolean
}

/**
 * One timer for every socket: each tick pings, and a socket that did not
 * pong since the last tick is dropped as dead (a peer that vanished without
 * a close frame would otherwise hold its slot forever).
 */
export function startHeartbeat (wss: WebSocketServer, intervalMs: number): { stop: () => void } {
  const onPong = function (this: WebSocket & Beating): void { this.isAlive = true }
  wss.on('connection', (socket: WebSocket & Beating) => {
    socket.isAlive = true
    socket.on('pong', onPong)
  })
  const timer = setInterval(() => {
    for (const socket of wss.clients as Set<WebSocket & Beating>) {
      if (socket.isAlive === false) {
        socket.terminate()
        continue
      }
      socket.isAlive = false
      socket.ping()
    }
  }, intervalMs)
  timer.unref()
  return { stop: () => { clearInterval(timer) } }
}

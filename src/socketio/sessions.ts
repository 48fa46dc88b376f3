import type { IncomingMessage } from 'node:http'
import type { Server } from 'socket.io'
import { Close } from '../protocol/index.js'
import { CLOSE_GRACE_MS } from '../realtime/shutdown.js'
import type { SocketIoRegistry } from './registry.js'

/** The part of an Engine.IO socket (`socket.conn`) used here. */
export interface EngineSession {
  readonly request: IncomingMessage
  once (event: 'close', listener: () => void): unknown
  on (event: 'close', listener: () => void): unknown
  close (discard?: boolean): void
}

/**
 * Every live Engine.IO session of the server, authenticated or not, with
 * its client address read from the handshake request while that request
 * is live (a polling session outlives its first request's TCP socket).
 */
export class EngineSessions {
  private readonly live = new Map<EngineSession, string>()

  constructor (io: Server, ipOf: (request: IncomingMessage) => string) {
    io.engine.on('connection', (session: EngineSession) => {
      this.live.set(session, ipOf(session.request))
      session.once('close', () => { this.live.delete(session) })
    })
  }

  ipOf (session: object): string | undefined {
    return this.live.get(session as EngineSession)
  }

  /**
   * Shutdown, as for `/ws`: every client is told `disconnect_reason`
   * "Server shutting down" (1001) and its transport closed, so that it
   * reconnects, to another instance; sessions that never authenticated are
   * closed too. `done` runs once every session is gone, or after
   * CLOSE_GRACE_MS, when the rest are cut. Returns how many sessions there were.
   */
  closeAll (registry: SocketIoRegistry, done: () => void): number {
    for (const client of registry.all()) client.closeWith(Close.shuttingDown)
    const sessions = [...this.live.keys()]
    if (sessions.length === 0) {
      done()
      return 0
    }
    let open = sessions.length
    const cut = setTimeout(() => {
      for (const session of this.live.keys()) session.close(true)
    }, CLOSE_GRACE_MS)
    for (const session of sessions) {
      session.once('close', () => {
        if (--open > 0) return
        clearTimeout(cut)
        done()
      })
      session.close()
    }
    return sessions.length
  }
}

import type { SocketIoClient } from './socket-client.js'

/**
 * This instance's Socket.IO clients, for shutdown and role changes (the hub
 * holds only open ones). A client admitted by the middleware joins the hub
 * a tick later, when Socket.IO connects it; until then it counts here
 * towards its user's socket limit, so a burst of handshakes cannot all pass
 * the check before any of them joined.
 */
export class SocketIoRegistry {
  private readonly clients = new Set<SocketIoClient>()
  private readonly admitting = new Map<string, number>()
  /** Engine.IO sessions that hold a client: one each (see `holds`). */
  private readonly sessions = new WeakSet<object>()

  get size (): number {
    return this.clients.size
  }

  all (): SocketIoClient[] {
    return [...this.clients]
  }

  admittingOf (username: string): number {
    return this.admitting.get(username) ?? 0
  }

  /**
   * Whether an Engine.IO session already has a client, admitted or open. A
   * second CONNECT sent while the first is still being checked would
   * otherwise make a second hub member on the same connection, getting every
   * message twice; Socket.IO itself closes a session that sends a CONNECT
   * once connected.
   */
  holds (session: object): boolean {
    return this.sessions.has(session)
  }

  admitted (client: SocketIoClient, session: object): void {
    this.clients.add(client)
    this.sessions.add(session)
    this.admitting.set(client.username, this.admittingOf(client.username) + 1)
  }

  /** No longer admitting: joined the hub, or gone before it did. */
  settled (client: SocketIoClient): void {
    const n = this.admittingOf(client.username) - 1
    if (n <= 0) this.admitting.delete(client.username)
    else this.admitting.set(client.username, n)
  }

  removed (client: SocketIoClient, session: object): void {
    this.clients.delete(client)
    this.sessions.delete(session)
  }
}

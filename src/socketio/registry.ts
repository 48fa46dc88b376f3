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

  get size (): number {
    return this.clients.size
  }

  all (): SocketIoClient[] {
    return [...this.clients]
  }

  admittingOf (username: string): number {
    return this.admitting.get(username) ?? 0
  }

  admitted (client: SocketIoClient): void {
    this.clients.add(client)
    this.admitting.set(client.username, this.admittingOf(client.username) + 1)
  }

  /** No longer admitting: joined the hub, or gone before it did. */
  settled (client: SocketIoClient): void {
    const n = this.admittingOf(client.username) - 1
    if (n <= 0) this.admitting.delete(client.username)
    else this.admitting.set(client.username, n)
  }

  removed (client: SocketIoClient): void {
    this.clients.delete(client)
  }
}

/**
 * Open sockets per user, counted wherever they are open, so that
 * WS_MAX_CONNECTIONS_PER_USER holds across every instance. A socket
 * acquires its place before it joins the hub and releases it when it
 * leaves; acquiring the same connection id twice is a no-op that succeeds.
 */
export interface ConnectionCounts {
  /** True, and the place is held, when `username` has fewer than `limit` connections open. */
  acquire (username: string, connectionId: string, limit: number): Promise<boolean>
  /** Gives the place back; harmless for an id that holds none, and allowed while its acquire is still running. */
  release (username: string, connectionId: string): void | Promise<void>
  close (): Promise<void>
}

/** Connection ids by username; only users with a connection are kept. */
export class Leases {
  private readonly byUser = new Map<string, Set<string>>()

  has (username: string, connectionId: string): boolean {
    return this.byUser.get(username)?.has(connectionId) ?? false
  }

  count (username: string): number {
    return this.byUser.get(username)?.size ?? 0
  }

  add (username: string, connectionId: string): void {
    let set = this.byUser.get(username)
    if (set === undefined) {
      set = new Set()
      this.byUser.set(username, set)
    }
    set.add(connectionId)
  }

  delete (username: string, connectionId: string): boolean {
    const set = this.byUser.get(username)
    if (set === undefined || !set.delete(connectionId)) return false
    if (set.size === 0) this.byUser.delete(username)
    return true
  }

  entries (): IterableIterator<[string, Set<string>]> {
    return this.byUser.entries()
  }

  clear (): void {
    this.byUser.clear()
  }
}

/** One instance's counts: the whole truth when there is only one instance. */
export class MemoryConnectionCounts implements ConnectionCounts {
  private readonly leases = new Leases()

  async acquire (username: string, connectionId: string, limit: number): Promise<boolean> {
    if (this.leases.has(username, connectionId)) return true
    if (this.leases.count(username) >= limit) return false
    this.leases.add(username, connectionId)
    return true
  }

  release (username: string, connectionId: string): void {
    this.leases.delete(username, connectionId)
  }

  async close (): Promise<void> {
    this.leases.clear()
  }
}

/**
 * Everything that must reach every instance goes through the broker: chat
 * fan-out and control events (revocations, kicks, each instance's stats). In
 * one process the broker is a direct call; with REDIS_URL the same events
 * cross instances. This module sits below auth and realtime and imports
 * nothing from either.
 */
export type BrokerEvent =
  | { readonly kind: 'broadcast', readonly channel: string, readonly frame: string }
  | { readonly kind: 'revoke-session', readonly sid: string }
  | { readonly kind: 'revoke-user', readonly username: string }
  /** An admin set a user's roles (all of them, as stored); open sockets re-check their channels. */
  | { readonly kind: 'user-roles', readonly username: string, readonly roles: readonly string[] }
  /** One instance's figures, published every stats interval; `snapshot` is that instance's stats as JSON. */
  | { readonly kind: 'instance-stats', readonly instanceId: string, readonly snapshot: Readonly<Record<string, unknown>> }

export type BrokerListener = (event: BrokerEvent) => void

export interface Broker {
  readonly name: 'memory' | 'redis'
  /** This process's id; events it published come back to it only through the direct local call. */
  readonly instanceId: string
  /** False while the link to the other instances is down; local delivery goes on. */
  readonly healthy: boolean
  /**
   * Delivers `event` to this instance's listeners at once (synchronously) and
   * to every other instance exactly once. Never rejects: a failure to reach
   * the others is counted, logged, and caught up by the reconnect listeners.
   */
  publish (event: BrokerEvent): Promise<void>
  subscribe (listener: BrokerListener): void
  /** Runs after the link to the other instances came back, so events missed meanwhile can be caught up. */
  onReconnect (listener: () => void): void
  /** Publishes that did not reach the other instances, since start (a Prometheus counter). */
  readonly publishErrors: number
  /** Called with the age in ms of every event that arrived from another instance (delivery lag). */
  onRemoteDelivery (listener: (lagMs: number) => void): void
  close (): Promise<void>
}

export class MemoryBroker implements Broker {
  readonly name = 'memory'
  readonly healthy = true
  readonly publishErrors = 0
  private readonly listeners: BrokerListener[] = []

  constructor (readonly instanceId: string) {}

  async publish (event: BrokerEvent): Promise<void> {
    for (const listener of this.listeners) listener(event)
  }

  subscribe (listener: BrokerListener): void {
    this.listeners.push(listener)
  }

  onReconnect (): void {}

  onRemoteDelivery (): void {}

  async close (): Promise<void> {
    this.listeners.length = 0
  }
}

/**
 * Everything that must reach every instance goes through the broker: chat
 * fan-out and control events (revocations, kicks). In one process the broker
 * is a direct call; with REDIS_URL the same events cross instances.
 */
export type BrokerEvent =
  | { readonly kind: 'broadcast', readonly channel: string, readonly frame: string }
  | { readonly kind: 'revoke-session', readonly sid: string }
  | { readonly kind: 'revoke-user', readonly username: string }

export type BrokerListener = (event: BrokerEvent) => void

export interface Broker {
  readonly name: string
  publish (event: BrokerEvent): Promise<void>
  subscribe (listener: BrokerListener): void
  close (): Promise<void>
}

export class MemoryBroker implements Broker {
  readonly name = 'memory'
  private readonly listeners: BrokerListener[] = []

  async publish (event: BrokerEvent): Promise<void> {
    for (const listener of this.listeners) listener(event)
  }

  subscribe (listener: BrokerListener): void {
    this.listeners.push(listener)
  }

  async close (): Promise<void> {
    this.listeners.length = 0
  }
}

import { ADMIN_CHANNEL } from './endpoint.js'
import type { Hub, HubClient } from './hub.js'

/**
 * One socket's channels. The hub holds the index, so there is one source of
 * truth; this adds the per-socket cap, which counts the channels the client
 * chose (global included) but not the internal admin channel.
 */
export class Membership {
  constructor (private readonly hub: Hub, private readonly client: HubClient, readonly limit: number) {}

  has (channel: string): boolean {
    return this.hub.channelsOf(this.client).has(channel)
  }

  list (): string[] {
    return [...this.hub.channelsOf(this.client)]
  }

  /** False when the socket is already in `limit` channels and this would be one more. */
  join (channel: string): boolean {
    const channels = this.hub.channelsOf(this.client)
    if (channels.has(channel)) return true
    const chosen = channels.size - (channels.has(ADMIN_CHANNEL) ? 1 : 0)
    if (chosen >= this.limit) return false
    this.hub.subscribe(this.client, channel)
    return true
  }

  leave (channel: string): void {
    this.hub.unsubscribe(this.client, channel)
  }
}

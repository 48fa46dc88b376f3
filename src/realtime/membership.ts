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
    if (!this.hasRoomFor(channel)) return false
    this.hub.subscribe(this.client, channel)
    return true
  }

  /**
   * Joins with the channel's messages kept aside until `release` (while a
   * position or a recovery is read); false, as `join`, when there is no
   * room. Joining a channel the socket is already in holds nothing.
   */
  hold (channel: string): boolean {
    if (!this.hasRoomFor(channel)) return false
    this.hub.hold(this.client, channel)
    return true
  }

  /** The messages that arrived during the hold, in order; from now on they come directly. */
  release (channel: string): string[] {
    return this.hub.release(this.client, channel)
  }

  private hasRoomFor (channel: string): boolean {
    const channels = this.hub.channelsOf(this.client)
    if (channels.has(channel)) return true
    return channels.size - (channels.has(ADMIN_CHANNEL) ? 1 : 0) < this.limit
  }

  leave (channel: string): void {
    this.hub.unsubscribe(this.client, channel)
  }
}

import type { HubClient } from './hub.js'

/**
 * Past this many messages held for one socket while its recovery is read,
 * the socket is too slow for the channel: it is closed rather than
 * buffered without bound.
 */
export const MAX_HELD_MESSAGES = 10_000

/**
 * A socket subscribing with recovery is in its channel from the moment the
 * history is read, but what arrives meanwhile is kept aside, so that the
 * replay, then the `subscribed` reply, then the live messages reach it in
 * order, none missed and none twice.
 */
export class ChannelHolds {
  private readonly byChannel = new Map<string, Map<HubClient, string[]>>()

  hold (client: HubClient, channel: string): void {
    let held = this.byChannel.get(channel)
    if (held === undefined) {
      held = new Map()
      this.byChannel.set(channel, held)
    }
    held.set(client, [])
  }

  isHeld (client: HubClient, channel: string): boolean {
    return this.byChannel.get(channel)?.has(client) ?? false
  }

  /** The messages kept for `client` in `channel`, in arrival order; the hold ends. */
  release (client: HubClient, channel: string): string[] {
    const held = this.byChannel.get(channel)
    const kept = held?.get(client)
    if (held === undefined || kept === undefined) return []
    held.delete(client)
    if (held.size === 0) this.byChannel.delete(channel)
    return kept
  }

  /** Keeps `text` for every socket held in `channel`; one whose hold overflows is closed by `overflow`. */
  keep (channel: string, text: string, overflow: (client: HubClient) => void): void {
    const held = this.byChannel.get(channel)
    if (held === undefined) return
    for (const [client, kept] of held) {
      if (kept.length >= MAX_HELD_MESSAGES) overflow(client)
      else kept.push(text)
    }
  }
}

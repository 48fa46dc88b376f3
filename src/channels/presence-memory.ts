import type { Presence, PresenceEntry } from './presence.js'

/** Entries by channel and connection id; a channel with no entries holds no state. */
export class PresenceEntries {
  private readonly byChannel = new Map<string, Map<string, PresenceEntry>>()

  /** Channels with at least one entry. */
  get channelCount (): number {
    return this.byChannel.size
  }

  /** Stores `entry` and returns the one it replaced (same channel and connection id), if any. */
  set (channel: string, entry: PresenceEntry): PresenceEntry | undefined {
    let entries = this.byChannel.get(channel)
    if (entries === undefined) {
      entries = new Map()
      this.byChannel.set(channel, entries)
    }
    const previous = entries.get(entry.connectionId)
    // A copy, so a caller changing its object later cannot change what is listed.
    entries.set(entry.connectionId, { user: entry.user, connectionId: entry.connectionId })
    return previous
  }

  /** Removes and returns the entry, if there was one. */
  delete (channel: string, connectionId: string): PresenceEntry | undefined {
    const entries = this.byChannel.get(channel)
    const entry = entries?.get(connectionId)
    if (entries === undefined || entry === undefined) return undefined
    entries.delete(connectionId)
    if (entries.size === 0) this.byChannel.delete(channel)
    return entry
  }

  list (channel: string): PresenceEntry[] {
    return [...(this.byChannel.get(channel)?.values() ?? [])]
  }

  channels (): IterableIterator<[string, ReadonlyMap<string, PresenceEntry>]> {
    return this.byChannel.entries()
  }

  clear (): void {
    this.byChannel.clear()
  }
}

/** One instance's presence: the whole truth when there is only one instance. */
export class MemoryPresence implements Presence {
  private readonly entries = new PresenceEntries()

  /** Channels with at least one entry (what this instance keeps state for). */
  get channelCount (): number {
    return this.entries.channelCount
  }

  async add (channel: string, entry: PresenceEntry): Promise<void> {
    this.entries.set(channel, entry)
  }

  async remove (channel: string, connectionId: string): Promise<void> {
    this.entries.delete(channel, connectionId)
  }

  async list (channel: string): Promise<PresenceEntry[]> {
    return this.entries.list(channel)
  }

  async close (): Promise<void> {
    this.entries.clear()
  }
}

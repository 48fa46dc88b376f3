/** One socket in a channel: two sockets of one user are two entries. */
export interface PresenceEntry {
  readonly user: string
  readonly connectionId: string
}

/**
 * Who is in which channel, for `{"type":"presence"}` answers. The socket
 * layer adds an entry when a socket subscribes to a channel whose namespace
 * has presence on, and removes it when the socket unsubscribes or closes;
 * join/leave frames are its business too (it knows when add and remove
 * happen), so this interface only keeps the entries.
 */
export interface Presence {
  /** Adds (or keeps) `entry` in `channel`; an entry with the same connection id is replaced. */
  add (channel: string, entry: PresenceEntry): Promise<void>
  /** Harmless for a connection id that is not in the channel. */
  remove (channel: string, connectionId: string): Promise<void>
  /** The channel's entries, in no particular order, duplicates of a user included. */
  list (channel: string): Promise<PresenceEntry[]>
  /** Redis: stops refreshing and removes this instance's entries. */
  close (): Promise<void>
}

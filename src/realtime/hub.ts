import { Close, GLOBAL_CHANNEL, type CloseSpec } from '../protocol/index.js'
import { encodeTextFrame, type EncodedFrame } from './frame.js'
import { ChannelHolds } from './holds.js'

/** What the hub needs of a socket; the hub knows nothing of HTTP or auth. */
export interface HubClient {
  readonly connectionId: string
  readonly username: string
  readonly sid: string | undefined
  sendFrame (frame: EncodedFrame): void
  closeWith (spec: CloseSpec): void
}

function addTo<K> (index: Map<K, Set<HubClient>>, key: K, client: HubClient): void {
  let set = index.get(key)
  if (set === undefined) {
    set = new Set()
    index.set(key, set)
  }
  set.add(client)
}

function removeFrom<K> (index: Map<K, Set<HubClient>>, key: K, client: HubClient): void {
  const set = index.get(key)
  if (set === undefined) return
  set.delete(client)
  if (set.size === 0) index.delete(key)
}

const NO_CHANNELS: ReadonlySet<string> = new Set()
/**
 * The channels every client joins with, shared until it subscribes or
 * unsubscribes and gets a set of its own: most sockets never do, and a set
 * each would cost every idle socket ≈ 150 bytes.
 */
const ONLY_GLOBAL: ReadonlySet<string> = new Set([GLOBAL_CHANNEL])

/** Told of every channel a client leaves: by unsubscribing, by being taken out, or by closing. */
export type DepartureListener = (client: HubClient, channel: string) => void

/**
 * The authenticated sockets of this instance, indexed by channel, user and
 * session. Only joined (authenticated) clients are here, so a pending or
 * rejected socket can never receive a broadcast. The hub is the one record
 * of which channels a socket is in: sockets ask it to subscribe and
 * unsubscribe, and read their channels back from it.
 */
export class Hub {
  /** Every joined client, with the channels it is in. */
  private readonly members = new Map<HubClient, ReadonlySet<string>>()
  private readonly byChannel = new Map<string, Set<HubClient>>()
  private readonly byUser = new Map<string, Set<HubClient>>()
  private readonly bySession = new Map<string, Set<HubClient>>()
  private readonly holds = new ChannelHolds()
  private readonly departures: DepartureListener[] = []

  get size (): number {
    return this.members.size
  }

  get userCount (): number {
    return this.byUser.size
  }

  clients (): IterableIterator<HubClient> {
    return this.members.keys()
  }

  sessionIds (): IterableIterator<string> {
    return this.bySession.keys()
  }

  usernames (): IterableIterator<string> {
    return this.byUser.keys()
  }

  /** Adds an authenticated client, in the global channel. */
  join (client: HubClient): void {
    if (this.members.has(client)) return
    this.members.set(client, ONLY_GLOBAL)
    addTo(this.byChannel, GLOBAL_CHANNEL, client)
    addTo(this.byUser, client.username, client)
    if (client.sid !== undefined) addTo(this.bySession, client.sid, client)
  }

  leave (client: HubClient): void {
    const channels = this.members.get(client)
    if (channels === undefined) return
    this.members.delete(client)
    removeFrom(this.byUser, client.username, client)
    if (client.sid !== undefined) removeFrom(this.bySession, client.sid, client)
    for (const channel of channels) {
      removeFrom(this.byChannel, channel, client)
      this.holds.release(client, channel)
      this.departed(client, channel)
    }
  }

  onDeparture (listener: DepartureListener): void {
    this.departures.push(listener)
  }

  /** Re-indexes a client whose session id changed (an in-band refresh with a new login's token). */
  moveSession (client: HubClient, previousSid: string | undefined): void {
    if (!this.members.has(client) || previousSid === client.sid) return
    if (previousSid !== undefined) removeFrom(this.bySession, previousSid, client)
    if (client.sid !== undefined) addTo(this.bySession, client.sid, client)
  }

  /** The channels a client is in; empty for one that is not joined. */
  channelsOf (client: HubClient): ReadonlySet<string> {
    return this.members.get(client) ?? NO_CHANNELS
  }

  subscribe (client: HubClient, channel: string): void {
    if (this.members.get(client)?.has(channel) !== false) return
    this.ownChannels(client).add(channel)
    addTo(this.byChannel, channel, client)
  }

  unsubscribe (client: HubClient, channel: string): void {
    if (this.members.get(client)?.has(channel) !== true) return
    this.ownChannels(client).delete(channel)
    removeFrom(this.byChannel, channel, client)
    this.holds.release(client, channel)
    this.departed(client, channel)
  }

  /** Subscribes `client` to `channel` with what arrives kept aside until `release` (see ChannelHolds). */
  hold (client: HubClient, channel: string): void {
    if (this.members.get(client)?.has(channel) !== false) return
    this.ownChannels(client).add(channel)
    this.holds.hold(client, channel)
  }

  /** Ends a hold: the client gets the channel's messages from now on; returns those kept meanwhile. */
  release (client: HubClient, channel: string): string[] {
    if (!this.holds.isHeld(client, channel)) return []
    const kept = this.holds.release(client, channel)
    if (this.members.get(client)?.has(channel) === true) addTo(this.byChannel, channel, client)
    return kept
  }

  /** Subscriber counts of the busiest client channels (internal `$…` ones left out). */
  channelSizes (limit: number): Array<{ readonly channel: string, readonly subscribers: number }> {
    const sizes: Array<{ channel: string, subscribers: number }> = []
    for (const [channel, members] of this.byChannel) if (!channel.startsWith('$')) sizes.push({ channel, subscribers: members.size })
    return sizes.sort((a, b) => b.subscribers - a.subscribers || (a.channel < b.channel ? -1 : 1)).slice(0, limit)
  }

  hasChannel (channel: string): boolean {
    return this.byChannel.has(channel)
  }

  connectionsOf (username: string): number {
    return this.byUser.get(username)?.size ?? 0
  }

  /** Frames the serialized message once and writes the same bytes to every client in the channel. */
  deliver (channel: string, text: string): number {
    this.holds.keep(channel, text, (client) => { client.closeWith(Close.slowConsumer) })
    const members = this.byChannel.get(channel)
    if (members === undefined) return 0
    const frame = encodeTextFrame(text)
    for (const client of members) client.sendFrame(frame)
    return members.size
  }

  closeSession (sid: string, spec: CloseSpec): number {
    return this.closeEach(this.bySession.get(sid), spec)
  }

  closeUser (username: string, spec: CloseSpec): number {
    return this.closeEach(this.byUser.get(username), spec)
  }

  /** A joined client's channel set, its own from now on (see ONLY_GLOBAL). */
  private ownChannels (client: HubClient): Set<string> {
    const channels = this.members.get(client)
    if (channels instanceof Set && channels !== ONLY_GLOBAL) return channels
    const own = new Set(channels)
    this.members.set(client, own)
    return own
  }

  private departed (client: HubClient, channel: string): void {
    for (const listener of this.departures) listener(client, channel)
  }

  private closeEach (set: Set<HubClient> | undefined, spec: CloseSpec): number {
    if (set === undefined) return 0
    // Copy first: closing a client removes it from the set being walked.
    const targets = [...set]
    for (const client of targets) client.closeWith(spec)
    return targets.length
  }
}

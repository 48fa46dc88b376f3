import { encodeTextFrame, type EncodedFrame } from './frame.js'
import type { CloseSpec } from '../protocol/index.js'

/** What the hub needs of a socket; the hub knows nothing of HTTP or auth. */
export interface HubClient {
  readonly connectionId: string
  readonly username: string
  readonly sid: string | undefined
  readonly channels: ReadonlySet<string>
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

/**
 * The authenticated sockets of this instance, indexed by channel, user and
 * session. Only joined (authenticated) clients are here, so a pending or
 * rejected socket can never receive a broadcast.
 */
export class Hub {
  private readonly all = new Set<HubClient>()
  private readonly byChannel = new Map<string, Set<HubClient>>()
  private readonly byUser = new Map<string, Set<HubClient>>()
  private readonly bySession = new Map<string, Set<HubClient>>()

  get size (): number {
    return this.all.size
  }

  get userCount (): number {
    return this.byUser.size
  }

  clients (): IterableIterator<HubClient> {
    return this.all.values()
  }

  sessionIds (): IterableIterator<string> {
    return this.bySession.keys()
  }

  usernames (): IterableIterator<string> {
    return this.byUser.keys()
  }

  join (client: HubClient): void {
    this.all.add(client)
    addTo(this.byUser, client.username, client)
    if (client.sid !== undefined) addTo(this.bySession, client.sid, client)
    for (const channel of client.channels) addTo(this.byChannel, channel, client)
  }

  leave (client: HubClient): void {
    if (!this.all.delete(client)) return
    removeFrom(this.byUser, client.username, client)
    if (client.sid !== undefined) removeFrom(this.bySession, client.sid, client)
    for (const channel of client.channels) removeFrom(this.byChannel, channel, client)
  }

  /** Called by a client after it changed its own channel set. */
  subscribe (client: HubClient, channel: string): void {
    if (this.all.has(client)) addTo(this.byChannel, channel, client)
  }

  unsubscribe (client: HubClient, channel: string): void {
    removeFrom(this.byChannel, channel, client)
  }

  hasChannel (channel: string): boolean {
    return this.byChannel.has(channel)
  }

  connectionsOf (username: string): number {
    return this.byUser.get(username)?.size ?? 0
  }

  /** Frames the serialized message once and writes the same bytes to every client in the channel. */
  deliver (channel: string, text: string): number {
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

  private closeEach (set: Set<HubClient> | undefined, spec: CloseSpec): number {
    if (set === undefined) return 0
    // Copy first: closing a client removes it from the set being walked.
    const targets = [...set]
    for (const client of targets) client.closeWith(spec)
    return targets.length
  }
}

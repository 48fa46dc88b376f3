import type { Redis } from 'ioredis'
import { RedisFallback } from '../broker/redis-fallback.js'
import { RedisLeases, type LeasedSetOptions } from '../broker/redis-leases.js'
import { PresenceEntries } from './presence-memory.js'
import type { Presence, PresenceEntry } from './presence.js'

/** Each channel's set is `${prefix}presence:${channel}`. */
export type RedisPresenceOptions = LeasedSetOptions

interface StoredEntry {
  readonly instanceId: string
  readonly entry: PresenceEntry
}

/**
 * Presence across instances: a sorted set per channel whose members are
 * `["<instance>","<connection>","<user>"]` (JSON, so the entry needs no second
 * key and a channel is read in one step), scored by when the entry's lease
 * expires on Redis's clock. Each instance refreshes all of its entries in one
 * round trip every `refreshMs`; an instance that dies stops refreshing and
 * its entries drop out within a lease. `close` removes this instance's
 * entries at once.
 *
 * While Redis cannot be reached, add and remove only change this instance's
 * own entries (logged once per outage), and `list` answers with this
 * instance's entries only: partial until Redis is back. The first refresh
 * after that writes this instance's entries again; an entry removed during
 * the outage stays visible to other instances until its lease runs out.
 */
export class RedisPresence implements Presence {
  /** This instance's entries: what it refreshes, and the whole answer while Redis is down. */
  private readonly local = new PresenceEntries()
  private readonly fallback: RedisFallback
  private readonly leases: RedisLeases

  constructor (private readonly options: RedisPresenceOptions) {
    this.fallback = new RedisFallback(options.log, 'presence')
    this.leases = new RedisLeases({
      redis: options.redis,
      fallback: this.fallback,
      leaseMs: options.leaseMs ?? 30_000,
      refreshMs: options.refreshMs,
      held: () => [...this.local.channels()].map(([channel, entries]) => [this.key(channel), [...entries.values()].map((entry) => this.member(entry))] as const)
    })
  }

  /** Successful refresh rounds since start; lets a test wait for them. */
  get refreshes (): number {
    return this.leases.refreshes
  }

  async add (channel: string, entry: PresenceEntry): Promise<void> {
    const previous = this.local.set(channel, entry)
    const key = this.key(channel)
    // Both commands are sent before either reply is awaited, so a remove called meanwhile is sent after them.
    const writes: Array<Promise<void>> = []
    if (previous !== undefined && previous.user !== entry.user) writes.push(this.leases.remove(key, this.member(previous)))
    writes.push(this.leases.add(key, this.member(entry)))
    await Promise.all(writes)
  }

  async remove (channel: string, connectionId: string): Promise<void> {
    const entry = this.local.delete(channel, connectionId)
    if (entry !== undefined) await this.leases.remove(this.key(channel), this.member(entry))
  }

  async list (channel: string): Promise<PresenceEntry[]> {
    return await this.fallback.run(async () => this.merge(channel, await this.leases.live(this.key(channel))), () => this.local.list(channel))
  }

  /** Pushes every entry of this instance forward by a lease (the timer does this every `refreshMs`). */
  async refresh (): Promise<void> {
    await this.leases.refresh()
  }

  async close (): Promise<void> {
    await this.leases.close()
    this.local.clear()
  }

  /**
   * Other instances' entries from Redis plus this instance's own from memory:
   * its own sockets are known exactly here, even those added while Redis was
   * down and not yet refreshed, or removed while a ZREM could not be sent.
   */
  private merge (channel: string, members: readonly string[]): PresenceEntry[] {
    const others: PresenceEntry[] = []
    for (const member of members) {
      const stored = decode(member)
      if (stored === undefined) {
        this.options.log.warn({ channel, length: member.length }, 'Dropped a malformed presence entry read from Redis')
      } else if (stored.instanceId !== this.options.instanceId) {
        others.push(stored.entry)
      }
    }
    return [...others, ...this.local.list(channel)]
  }

  private key (channel: string): string {
    return `${this.options.prefix}presence:${channel}`
  }

  private member (entry: PresenceEntry): string {
    return JSON.stringify([this.options.instanceId, entry.connectionId, entry.user])
  }
}

function isStringTriple (value: unknown): value is [string, string, string] {
  return Array.isArray(value) && value.length === 3 && value.every((item) => typeof item === 'string')
}

function decode (member: string): StoredEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(member)
  } catch {
    return undefined
  }
  if (!isStringTriple(value)) return undefined
  const [instanceId, connectionId, user] = value
  return { instanceId, entry: { user, connectionId } }
}

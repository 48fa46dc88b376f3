import type { Redis } from 'ioredis'
import type { BrokerLog } from './log.js'
import type { RedisFallback } from './redis-fallback.js'
import { defineScript, type RunScript } from './redis-script.js'

/**
 * Sets `now` to Redis's clock in ms (TIME). Leases are scored on it, so
 * instances' clocks never need to agree for a dead instance's leases to expire.
 */
export const NOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// KEYS: sorted sets. ARGV: lease ms, then for each key a JSON array of its members.
// Drops the set's expired leases, then (re)adds the given ones a lease from now. ZADD without
// XX: a lease dropped while its instance stalled, or lost with a Redis restart, is put back,
// as what it stands for is still there.
const REFRESH_LUA = `${NOW_LUA}
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  for _, member in ipairs(cjson.decode(ARGV[i + 1])) do redis.call('ZADD', key, now + lease, member) end
  -- Every member expires by now + lease, so the set may go one second later.
  redis.call('PEXPIRE', key, lease + 1000)
end
return #KEYS`

// KEYS: one sorted set. Drops its expired leases and returns the members left.
const LIVE_LUA = `${NOW_LUA}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`

/** Keys per refresh script call, so that one call never holds Redis for long. */
const REFRESH_BATCH = 200

/** What an instance holds: each sorted set's key with this instance's members in it. */
/** What every owner of leased sets (connection counts, presence) is built with. */
export interface LeasedSetOptions {
  readonly redis: Redis
  /** REDIS_KEY_PREFIX, before each set's key. */
  readonly prefix: string
  readonly instanceId: string
  readonly log: BrokerLog
  /** How long a member outlives its instance's last refresh (default 30 s). */
  readonly leaseMs?: number
  /** Default: a third of the lease, so two refreshes can fail before a live member expires. */
  readonly refreshMs?: number
}

export type HeldLeases = () => Iterable<readonly [key: string, members: readonly string[]]>

export interface RedisLeasesOptions {
  readonly redis: Redis
  /** The owner's fallback, so that one outage is logged once whichever call meets it. */
  readonly fallback: RedisFallback
  /** How long a lease outlives its instance's last refresh. */
  readonly leaseMs: number
  /** Default: a third of the lease, so two refreshes can fail before a live lease expires. */
  readonly refreshMs?: number
  /** Read at each refresh and at close; the owner keeps the state, this class only writes it to Redis. */
  readonly held: HeldLeases
}

/**
 * Leases in Redis sorted sets: members scored by when they expire, on
 * Redis's clock. The owner keeps what this instance holds; every `refreshMs`
 * all of it is pushed a lease forward in one round trip (the batches are
 * sent back to back without waiting for replies). An instance that dies stops
 * refreshing and its members expire on their own within a lease; each set
 * expires a second after its last lease, so an idle set leaves no key behind.
 *
 * While Redis is down every write goes to the owner's fallback and does
 * nothing; the first refresh after it is back writes everything held again.
 * Each write is sent before its call first awaits, and one connection
 * carries them all, so an add followed by a remove of the same member
 * reaches Redis in that order, even when the remove does not wait for the add.
 */
export class RedisLeases {
  /** Successful refresh rounds since start; lets a test wait for them. */
  refreshes = 0
  private readonly refreshScript: RunScript
  private readonly liveScript: RunScript
  private readonly timer: NodeJS.Timeout

  constructor (private readonly options: RedisLeasesOptions) {
    this.refreshScript = defineScript(options.redis, 'wsgateLeaseRefresh', REFRESH_LUA)
    this.liveScript = defineScript(options.redis, 'wsgateLeaseLive', LIVE_LUA)
    this.timer = setInterval(() => { void this.refresh() }, options.refreshMs ?? Math.floor(options.leaseMs / 3))
    this.timer.unref()
  }

  /** Writes one lease now (the owner holds it already, so a failure here is mended by the next refresh). */
  async add (key: string, member: string): Promise<void> {
    await this.options.fallback.run(async () => { await this.refreshScript([key], [this.options.leaseMs, JSON.stringify([member])]) }, () => undefined)
  }

  /** Gives one lease back; when Redis is down it is simply not refreshed any more and expires within a lease. */
  async remove (key: string, member: string): Promise<void> {
    await this.options.fallback.run(async () => { await this.options.redis.zrem(key, member) }, () => undefined)
  }

  /** The unexpired members of `key`, expired ones dropped in the same step. Throws when Redis fails: the caller chooses its fallback. */
  async live (key: string): Promise<string[]> {
    const reply = await this.liveScript([key], [])
    if (!Array.isArray(reply)) throw new Error(`unexpected script reply: ${JSON.stringify(reply)}`)
    return reply.map((member) => String(member))
  }

  /** Pushes every lease the owner holds forward by a lease. */
  async refresh (): Promise<void> {
    const held = [...this.options.held()].filter(([, members]) => members.length > 0)
    if (held.length === 0) {
      // Nothing to write: going through the fallback would report Redis as back without asking it.
      this.refreshes++
      return
    }
    await this.options.fallback.run(async () => {
      const calls: Array<Promise<unknown>> = []
      for (let i = 0; i < held.length; i += REFRESH_BATCH) {
        const batch = held.slice(i, i + REFRESH_BATCH)
        calls.push(this.refreshScript(batch.map(([key]) => key), [this.options.leaseMs, ...batch.map(([, members]) => JSON.stringify(members))]))
      }
      await Promise.all(calls)
      this.refreshes++
    }, () => undefined)
  }

  /** Stops refreshing and gives back every lease held, in one pipeline (best effort: they expire anyway). */
  async close (): Promise<void> {
    clearInterval(this.timer)
    const pipeline = this.options.redis.pipeline()
    for (const [key, members] of this.options.held()) if (members.length > 0) pipeline.zrem(key, ...members)
    if (pipeline.length > 0) await pipeline.exec().catch(() => undefined)
  }
}

import { Leases, type ConnectionCounts } from './connection-counts.js'
import { RedisFallback } from './redis-fallback.js'
import { NOW_LUA, RedisLeases, type LeasedSetOptions } from './redis-leases.js'
import { defineScript, type RunScript } from './redis-script.js'

// KEYS: the user's set (scored by lease expiry on Redis's clock). ARGV: member, lease ms, limit. 1 when the place is held.
const ACQUIRE_LUA = `${NOW_LUA}
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
-- Every member expires by now + lease, so the set may go one second later.
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return 1`

/** Each user's set is `${prefix}conns:${username}`. */
export type RedisConnectionCountsOptions = LeasedSetOptions

/**
 * Connection counts in Redis: a sorted set per user of
 * `${instanceId}:${connectionId}`, scored by when the place expires. Each
 * instance refreshes all of its places in one round trip every `refreshMs`;
 * an instance that dies stops refreshing and its places expire on their
 * own within a lease. Acquire is one script (drop expired, count, add if
 * under the limit), so parallel acquires on any number of instances never
 * exceed the limit.
 *
 * While Redis cannot be reached, acquire allows up to the limit counting
 * this instance's connections only (rather than refusing everyone), and the
 * places taken meanwhile are written to Redis by the first refresh after it
 * is back.
 */
export class RedisConnectionCounts implements ConnectionCounts {
  private readonly leases = new Leases()
  /** Acquires still running, by member; a release meanwhile marks them to be given back. */
  private readonly inFlight = new Map<string, { released: boolean }>()
  private readonly acquireScript: RunScript
  private readonly shared: RedisFallback
  private readonly leaseMs: number
  private readonly redisLeases: RedisLeases

  constructor (private readonly options: RedisConnectionCountsOptions) {
    this.leaseMs = options.leaseMs ?? 30_000
    this.acquireScript = defineScript(options.redis, 'wsgateConnAcquire', ACQUIRE_LUA)
    this.shared = new RedisFallback(options.log, 'connections-per-user')
    this.redisLeases = new RedisLeases({
      redis: options.redis,
      fallback: this.shared,
      leaseMs: this.leaseMs,
      refreshMs: options.refreshMs,
      held: () => [...this.leases.entries()].map(([username, ids]) => [this.key(username), [...ids].map((id) => this.member(id))] as const)
    })
  }

  /** Successful refresh rounds since start; lets a test wait for them. */
  get refreshes (): number {
    return this.redisLeases.refreshes
  }

  async acquire (username: string, connectionId: string, limit: number): Promise<boolean> {
    if (this.leases.has(username, connectionId)) return true
    const member = this.member(connectionId)
    const flight = { released: false }
    this.inFlight.set(member, flight)
    try {
      const ok = await this.shared.run(
        async () => Number(await this.acquireScript([this.key(username)], [member, this.leaseMs, limit])) === 1,
        () => this.leases.count(username) < limit)
      if (!ok) return false
      if (flight.released) {
        await this.remove(username, member)
        return false
      }
      this.leases.add(username, connectionId)
      return true
    } finally {
      this.inFlight.delete(member)
    }
  }

  async release (username: string, connectionId: string): Promise<void> {
    const member = this.member(connectionId)
    const flight = this.inFlight.get(member)
    if (flight !== undefined) flight.released = true
    if (this.leases.delete(username, connectionId)) await this.remove(username, member)
  }

  /** Stops refreshing and gives back this instance's places (best effort: they expire anyway). */
  async close (): Promise<void> {
    await this.redisLeases.close()
    this.leases.clear()
  }

  /** Pushes every place this instance holds forward by a lease. */
  async refresh (): Promise<void> {
    await this.redisLeases.refresh()
  }

  private async remove (username: string, member: string): Promise<void> {
    await this.redisLeases.remove(this.key(username), member)
  }

  private key (username: string): string {
    return `${this.options.prefix}conns:${username}`
  }

  private member (connectionId: string): string {
    return `${this.options.instanceId}:${connectionId}`
  }
}

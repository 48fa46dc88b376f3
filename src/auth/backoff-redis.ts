import type { Redis } from 'ioredis'
import type { BrokerLog } from '../broker/log.js'
import { RedisFallback } from '../broker/redis-fallback.js'
import { defineScript, type RunScript } from '../broker/redis-script.js'
import { FORGET_AFTER_MS, MemoryBackoff, type Backoff, type BackoffPolicy } from './backoff.js'

/**
 * Lua for the backoff of one hash key {failures, last, until}: the same rule
 * as backoffMs (free failures, then 1 s doubling, capped), so every instance
 * and the in-process fallback agree. Shared with the Redis login throttle.
 */
export const BACKOFF_LUA = `
local function backoff_wait (failures, free, max_ms)
  local over = failures - free
  if over <= 0 then return 0 end
  return math.min(1000 * 2 ^ math.min(over - 1, 30), max_ms)
end
local function backoff_retry_after (key, now)
  local blocked = tonumber(redis.call('HGET', key, 'until')) or 0
  return math.max(0, blocked - now)
end
local function backoff_fail (key, now, free, max_ms, forget_ms)
  local v = redis.call('HMGET', key, 'failures', 'last')
  local failures = tonumber(v[1]) or 0
  local last = tonumber(v[2])
  if last ~= nil and now - last > forget_ms then failures = 0 end
  failures = failures + 1
  local wait = backoff_wait(failures, free, max_ms)
  redis.call('HSET', key, 'failures', failures, 'last', now, 'until', now + wait)
  redis.call('PEXPIRE', key, math.max(forget_ms, wait))
  return wait
end
`

// ARGV: now, free, max_ms, forget_ms. Returns the wait the failure set.
const FAIL_LUA = `${BACKOFF_LUA}
return backoff_fail(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))`

// ARGV as FAIL_LUA. The longest wait of KEYS if any must wait; else one failure on each key and 0.
const CLAIM_LUA = `${BACKOFF_LUA}
local now = tonumber(ARGV[1])
local longest = 0
for _, key in ipairs(KEYS) do longest = math.max(longest, backoff_retry_after(key, now)) end
if longest > 0 then return longest end
for _, key in ipairs(KEYS) do backoff_fail(key, now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])) end
return 0`

export interface RedisBackoffOptions {
  readonly redis: Redis
  /** REDIS_KEY_PREFIX. */
  readonly prefix: string
  /** Names the counter (e.g. `admin-auth`), so that two uses of a backoff never share keys. */
  readonly scope: string
  readonly policy: BackoffPolicy
  readonly log: BrokerLog
  /** The time values are computed on; key expiry runs on Redis's own clock. */
  readonly now?: () => number
}

/**
 * The backoff shared by every instance: one hash per key at
 * `${prefix}backoff:${scope}:${key}`, changed only by Lua scripts, so that
 * parallel failures on many instances are each counted and each sees the
 * wait its own count gives. A key expires 24 h after its last failure.
 *
 * While Redis cannot be reached the same policy runs in process (this
 * instance's counts only) instead of failing every attempt; it is logged
 * when that starts and ends.
 */
export class RedisBackoff implements Backoff {
  private readonly fail: RunScript
  private readonly claimScript: RunScript
  private readonly local: MemoryBackoff
  private readonly now: () => number
  private readonly shared: RedisFallback

  constructor (private readonly options: RedisBackoffOptions) {
    this.now = options.now ?? Date.now
    this.shared = new RedisFallback(options.log, `backoff:${options.scope}`)
    this.fail = defineScript(options.redis, 'wsgateBackoffFail', FAIL_LUA)
    this.claimScript = defineScript(options.redis, 'wsgateBackoffClaim', CLAIM_LUA)
    this.local = new MemoryBackoff(options.policy, this.now)
  }

  async retryAfterMs (key: string): Promise<number> {
    return await this.shared.run(async () => {
      const blocked = Number(await this.options.redis.hget(this.key(key), 'until') ?? 0)
      return Math.max(0, blocked - this.now())
    }, async () => await this.local.retryAfterMs(key))
  }

  async recordFailure (key: string): Promise<void> {
    await this.shared.run(async () => { await this.fail([this.key(key)], this.args()) }, async () => { await this.local.recordFailure(key) })
  }

  async recordSuccess (key: string): Promise<void> {
    await this.shared.run(async () => { await this.options.redis.del(this.key(key)) }, async () => { await this.local.recordSuccess(key) })
  }

  /**
   * Check and count in one step, for callers that must not let parallel
   * attempts through: the longest wait of `keys` if any must wait; else a
   * failure is recorded on every key at once and 0 returned. The caller
   * then runs its attempt, and calls recordSuccess on each key when it
   * succeeded; a failed attempt is already counted.
   */
  async claim (keys: readonly string[]): Promise<number> {
    return await this.shared.run(async () => Number(await this.claimScript(keys.map((key) => this.key(key)), this.args())), async () => await this.local.claim(keys))
  }

  private key (key: string): string {
    return `${this.options.prefix}backoff:${this.options.scope}:${key}`
  }

  private args (): number[] {
    return [this.now(), this.options.policy.freeFailures, this.options.policy.maxBackoffMs, FORGET_AFTER_MS]
  }
}

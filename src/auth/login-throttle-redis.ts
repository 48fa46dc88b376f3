import type { Redis } from 'ioredis'
import type { BrokerLog } from '../broker/log.js'
import { RedisFallback } from '../broker/redis-fallback.js'
import { defineScript, numbers, type RunScript } from '../broker/redis-script.js'
import { FORGET_AFTER_MS } from './backoff.js'
import { BACKOFF_LUA } from './backoff-redis.js'
import { longest, MemoryLoginThrottle, pairKey, type LoginThrottle, type Throttled, type ThrottlePolicy } from './login-throttle.js'

const MINUTE_MS = 60_000
/** Keys outlive their window by this much: expiry only collects garbage, the scripts decide on `now`. */
const SLACK_MS = 1000

/** Fixed windows as hashes {start, count, blocked}, with the in-process Windows' rules. */
const WINDOW_LUA = `
local function window_get (key, now, window_ms)
  local v = redis.call('HMGET', key, 'start', 'count', 'blocked')
  local start = tonumber(v[1])
  if start == nil then return nil end
  local blocked = tonumber(v[3]) or 0
  if now - start < window_ms or blocked > now then return { start, tonumber(v[2]) or 0, blocked } end
  redis.call('DEL', key)
  return nil
end
local function window_expire (key, w, now, window_ms)
  redis.call('PEXPIRE', key, math.max(w[1] + window_ms, w[3]) - now + ${SLACK_MS})
end
local function window_add (key, now, window_ms)
  local w = window_get(key, now, window_ms)
  if w == nil then
    w = { now, 0, 0 }
    redis.call('HSET', key, 'start', now, 'blocked', 0)
  end
  w[2] = redis.call('HINCRBY', key, 'count', 1)
  window_expire(key, w, now, window_ms)
  return w
end
`

// KEYS: requests. ARGV: now, window. Returns {count, ms left in the window}.
const ADMIT_LUA = `${WINDOW_LUA}
local now, window_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local w = window_add(KEYS[1], now, window_ms)
return { w[2], math.max(0, w[1] + window_ms - now) }`

// KEYS: ip failures, pair, user. ARGV: now, ip window, ip limit, user window.
// Returns the three waits; when all are 0 the attempt counts as a failure of its IP until recordSuccess.
const BEGIN_LUA = `${BACKOFF_LUA}${WINDOW_LUA}
local now, ip_window, ip_limit, user_window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ip_wait = 0
local f = window_get(KEYS[1], now, ip_window)
if f ~= nil and f[2] >= ip_limit then ip_wait = math.max(0, f[1] + ip_window - now) end
local pair_wait = backoff_retry_after(KEYS[2], now)
local user_wait = 0
local u = window_get(KEYS[3], now, user_window)
if u ~= nil then user_wait = math.max(0, u[3] - now) end
if ip_wait <= 0 and pair_wait <= 0 and user_wait <= 0 then window_add(KEYS[1], now, ip_window) end
return { ip_wait, pair_wait, user_wait }`

// KEYS: pair, user. ARGV: now, pair free, max backoff, forget, user window, user free.
const FAIL_LUA = `${BACKOFF_LUA}${WINDOW_LUA}
local now, free, max_ms, forget_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local user_window, user_free = tonumber(ARGV[5]), tonumber(ARGV[6])
backoff_fail(KEYS[1], now, free, max_ms, forget_ms)
local u = window_add(KEYS[2], now, user_window)
local wait = backoff_wait(u[2], user_free, max_ms)
u[3] = 0
if wait > 0 then u[3] = now + wait end
redis.call('HSET', KEYS[2], 'blocked', u[3])
window_expire(KEYS[2], u, now, user_window)
return 1`

// KEYS: ip failures, pair. ARGV: now, ip window.
const SUCCESS_LUA = `${WINDOW_LUA}
local f = window_get(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if f ~= nil and f[2] > 0 then redis.call('HINCRBY', KEYS[1], 'count', -1) end
redis.call('DEL', KEYS[2])
return 1`

export interface RedisLoginThrottleOptions {
  readonly redis: Redis
  /** REDIS_KEY_PREFIX; keys are `${prefix}login:…`. */
  readonly prefix: string
  readonly policy: ThrottlePolicy
  readonly log: BrokerLog
  /** The time every window and wait is computed on; key expiry runs on Redis's own clock. */
  readonly now?: () => number
}

/**
 * The login throttle shared by every instance, with MemoryLoginThrottle's
 * policy exactly: each operation is one Lua script, so a check and the count
 * it implies (beginLogin's provisional IP failure) happen as one step for
 * the whole cluster. Times are the injected clock's, passed to the scripts;
 * Redis expires a key only after its window or wait has ended, so expiry
 * collects garbage and never decides.
 *
 * While Redis cannot be reached the same policy runs in process (this
 * instance's counts only), so logins go on; logged when that starts and ends.
 */
export class RedisLoginThrottle implements LoginThrottle {
  private readonly admit: RunScript
  private readonly begin: RunScript
  private readonly fail: RunScript
  private readonly succeed: RunScript
  private readonly local: MemoryLoginThrottle
  private readonly now: () => number
  private readonly shared: RedisFallback

  constructor (private readonly options: RedisLoginThrottleOptions) {
    this.now = options.now ?? Date.now
    this.shared = new RedisFallback(options.log, 'login-throttle')
    this.admit = defineScript(options.redis, 'wsgateLoginAdmit', ADMIT_LUA)
    this.begin = defineScript(options.redis, 'wsgateLoginBegin', BEGIN_LUA)
    this.fail = defineScript(options.redis, 'wsgateLoginFail', FAIL_LUA)
    this.succeed = defineScript(options.redis, 'wsgateLoginSuccess', SUCCESS_LUA)
    this.local = new MemoryLoginThrottle(options.policy, this.now)
  }

  async admitRequest (ip: string): Promise<Throttled | undefined> {
    return await this.shared.run(async () => {
      const [count = 0, remaining = 0] = numbers(await this.admit([this.key('requests', ip)], [this.now(), MINUTE_MS]), 2)
      return count <= this.options.policy.requestsPerIpPerMinute ? undefined : { scope: 'ip', retryAfterMs: remaining }
    }, async () => await this.local.admitRequest(ip))
  }

  async beginLogin (username: string, ip: string): Promise<Throttled | undefined> {
    const { policy } = this.options
    return await this.shared.run(async () => {
      const keys = [this.key('ip-failures', ip), this.key('pair', pairKey(username, ip)), this.key('user', username)]
      const reply = await this.begin(keys, [this.now(), MINUTE_MS, policy.ipFailuresPerMinute, policy.userWindowMs])
      const [ipWait = 0, pairWait = 0, userWait = 0] = numbers(reply, 3)
      // Same order as the in-process throttle, so that ties name the same scope.
      return longest([{ scope: 'ip-failures', retryAfterMs: ipWait }, { scope: 'user-ip', retryAfterMs: pairWait }, { scope: 'user', retryAfterMs: userWait }])
    }, async () => await this.local.beginLogin(username, ip))
  }

  async recordFailure (username: string, ip: string): Promise<void> {
    const { policy } = this.options
    await this.shared.run(async () => {
      await this.fail([this.key('pair', pairKey(username, ip)), this.key('user', username)],
        [this.now(), policy.pair.freeFailures, policy.pair.maxBackoffMs, FORGET_AFTER_MS, policy.userWindowMs, policy.userMaxFailures])
    }, async () => { await this.local.recordFailure(username, ip) })
  }

  async recordSuccess (username: string, ip: string): Promise<void> {
    await this.shared.run(async () => {
      await this.succeed([this.key('ip-failures', ip), this.key('pair', pairKey(username, ip))], [this.now(), MINUTE_MS])
    }, async () => { await this.local.recordSuccess(username, ip) })
  }

  private key (counter: string, id: string): string {
    return `${this.options.prefix}login:${counter}:${id}`
  }
}

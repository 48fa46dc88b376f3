import { MemoryBackoff, backoffMs, type BackoffPolicy } from './backoff.js'

/**
 * Login throttling for the token endpoints. Four counters, each aimed at one
 * threat without punishing the honest:
 *
 * - per IP, every request: a high cap that only protects bcrypt's CPU;
 * - per IP, failed logins: a client guessing from one address gets 429,
 *   while an honest one logging in correctly is never counted;
 * - per (username, IP): the wait doubles with each failure past the free
 *   ones, so the attacker's address slows down and the owner's does not;
 * - per username across all IPs: a much higher threshold within a longer
 *   window before a username-wide backoff, against guesses spread over many
 *   addresses. The trade-off: past that threshold the owner waits too, so it
 *   is set where a dozen wrong guesses from one address never reach it.
 *
 * A success resets the backoff of that username from that address only.
 * Earlier failures in the username-wide and per-IP counts expire with their
 * windows instead, or an attacker holding one valid account could clear them
 * between guesses. Nothing is ever locked for good. Counters sit behind this
 * interface so that the scale-out work can keep them in Redis.
 */
export interface LoginThrottle {
  /** Counts one request to the token endpoints from `ip`; refused when over the per-IP cap. */
  admitRequest (ip: string): Promise<Throttled | undefined>
  /**
   * Whether `username` may have its password checked from `ip` now; asked
   * before bcrypt. An admitted attempt counts as a failure of its IP from
   * here until recordSuccess, so that guesses sent in parallel cannot all
   * pass before the first one is counted.
   */
  beginLogin (username: string, ip: string): Promise<Throttled | undefined>
  /** The password was wrong: counts against the (username, IP) pair and the username. */
  recordFailure (username: string, ip: string): Promise<void>
  /** The password was right: takes back the IP's provisional failure and resets the pair. */
  recordSuccess (username: string, ip: string): Promise<void>
}

/** Which counter refused: `ip` all requests, `ip-failures`, `user-ip` the pair's backoff, `user` the username-wide one. */
export type ThrottleScope = 'ip' | 'ip-failures' | 'user-ip' | 'user'

export interface Throttled {
  readonly scope: ThrottleScope
  readonly retryAfterMs: number
}

export interface ThrottlePolicy {
  readonly requestsPerIpPerMinute: number
  readonly ipFailuresPerMinute: number
  /** The (username, IP) backoff. */
  readonly pair: BackoffPolicy
  /** Failures of a username from all IPs within `userWindowMs` before its username-wide backoff. */
  readonly userMaxFailures: number
  readonly userWindowMs: number
}

const MINUTE_MS = 60_000
/** Per map: past it, stale entries go first, then the oldest, so memory stays bounded under a flood of addresses. */
const MAX_ENTRIES = 100_000

interface Window {
  start: number
  count: number
  /** 0 unless a backoff applies. */
  blockedUntil: number
}

/** Fixed-window counters by key, on the injected clock. */
class Windows {
  private readonly entries = new Map<string, Window>()

  constructor (private readonly windowMs: number) {}

  /** The live window of `key`, or undefined when it has none or it has run out. */
  get (key: string, now: number): Window | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (now - entry.start < this.windowMs || entry.blockedUntil > now) return entry
    this.entries.delete(key)
    return undefined
  }

  add (key: string, now: number): Window {
    let entry = this.get(key, now)
    if (entry === undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(now)
      entry = { start: now, count: 0, blockedUntil: 0 }
      this.entries.set(key, entry)
    }
    entry.count += 1
    return entry
  }

  /** Milliseconds until the window of `entry` ends. */
  remaining (entry: Window, now: number): number {
    return Math.max(0, entry.start + this.windowMs - now)
  }

  /** Takes back one count, as long as the window it was added to still runs. */
  subtract (key: string, now: number): void {
    const entry = this.get(key, now)
    if (entry !== undefined && entry.count > 0) entry.count -= 1
  }

  private prune (now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.start >= this.windowMs && entry.blockedUntil <= now) this.entries.delete(key)
    }
    // Still full: every entry is live, so drop the oldest (first inserted) ones.
    for (const key of this.entries.keys()) {
      if (this.entries.size < MAX_ENTRIES) break
      this.entries.delete(key)
    }
  }
}

export function longest (hits: ReadonlyArray<Throttled | undefined>): Throttled | undefined {
  let worst: Throttled | undefined
  for (const hit of hits) {
    if (hit !== undefined && hit.retryAfterMs > 0 && (worst === undefined || hit.retryAfterMs > worst.retryAfterMs)) worst = hit
  }
  return worst
}

export class MemoryLoginThrottle implements LoginThrottle {
  private readonly requests = new Windows(MINUTE_MS)
  private readonly ipFailures = new Windows(MINUTE_MS)
  private readonly pairs: MemoryBackoff
  private readonly users: Windows

  constructor (private readonly policy: ThrottlePolicy, private readonly now: () => number = Date.now) {
    this.pairs = new MemoryBackoff(policy.pair, now)
    this.users = new Windows(policy.userWindowMs)
  }

  async admitRequest (ip: string): Promise<Throttled | undefined> {
    const now = this.now()
    const entry = this.requests.add(ip, now)
    if (entry.count <= this.policy.requestsPerIpPerMinute) return undefined
    return { scope: 'ip', retryAfterMs: this.requests.remaining(entry, now) }
  }

  async beginLogin (username: string, ip: string): Promise<Throttled | undefined> {
    const now = this.now()
    const failures = this.ipFailures.get(ip, now)
    const pairWait = await this.pairs.retryAfterMs(pairKey(username, ip))
    const user = this.users.get(username, now)
    // The longest wait wins, so that a client honouring Retry-After is not refused again at once.
    const throttled = longest([
      failures !== undefined && failures.count >= this.policy.ipFailuresPerMinute ? { scope: 'ip-failures', retryAfterMs: this.ipFailures.remaining(failures, now) } : undefined,
      { scope: 'user-ip', retryAfterMs: pairWait },
      user !== undefined ? { scope: 'user', retryAfterMs: user.blockedUntil - now } : undefined
    ])
    if (throttled === undefined) this.ipFailures.add(ip, now)
    return throttled
  }

  async recordFailure (username: string, ip: string): Promise<void> {
    const now = this.now()
    await this.pairs.recordFailure(pairKey(username, ip))
    const user = this.users.add(username, now)
    const wait = backoffMs(user.count, { freeFailures: this.policy.userMaxFailures, maxBackoffMs: this.policy.pair.maxBackoffMs })
    user.blockedUntil = wait > 0 ? now + wait : 0
  }

  async recordSuccess (username: string, ip: string): Promise<void> {
    this.ipFailures.subtract(ip, this.now())
    await this.pairs.recordSuccess(pairKey(username, ip))
  }
}

/** An IP holds no NUL, so the first one separates the two parts unambiguously. */
export function pairKey (username: string, ip: string): string {
  return `${ip}\u0000${username}`
}

/**
 * Per-username failure backoff for the password grant. It slows guessing
 * against one account from any number of IPs, without ever locking the
 * account for good: the wait doubles with each failure past the free ones,
 * is capped, and a success resets it. Counters sit behind this interface so
 * that the scale-out work can keep them in Redis.
 */
export interface LoginThrottle {
  /** Milliseconds the username must still wait; 0 when it may try now. */
  retryAfterMs (username: string): Promise<number>
  recordFailure (username: string): Promise<void>
  recordSuccess (username: string): Promise<void>
}

interface Entry {
  failures: number
  blockedUntil: number
  lastFailure: number
}

export interface BackoffPolicy {
  /** Failures allowed before any wait. */
  readonly freeFailures: number
  readonly maxBackoffMs: number
}

/** Wait after the n-th failure: 0 for the free ones, then 1 s, 2 s, 4 s … capped. */
export function backoffMs (failures: number, policy: BackoffPolicy): number {
  const over = failures - policy.freeFailures
  if (over <= 0) return 0
  return Math.min(1000 * 2 ** Math.min(over - 1, 30), policy.maxBackoffMs)
}

/** Entries are forgotten after this much quiet, so the map cannot grow without bound. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000
const MAX_ENTRIES = 100_000

export class MemoryLoginThrottle implements LoginThrottle {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly policy: BackoffPolicy, private readonly now: () => number = Date.now) {}

  async retryAfterMs (username: string): Promise<number> {
    const entry = this.entries.get(username)
    return entry === undefined ? 0 : Math.max(0, entry.blockedUntil - this.now())
  }

  async recordFailure (username: string): Promise<void> {
    const now = this.now()
    let entry = this.entries.get(username)
    if (entry === undefined || now - entry.lastFailure > FORGET_AFTER_MS) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(now)
      entry = { failures: 0, blockedUntil: 0, lastFailure: now }
      this.entries.set(username, entry)
    }
    entry.failures += 1
    entry.lastFailure = now
    entry.blockedUntil = now + backoffMs(entry.failures, this.policy)
  }

  async recordSuccess (username: string): Promise<void> {
    this.entries.delete(username)
  }

  private prune (now: number): void {
    for (const [name, entry] of this.entries) {
      if (now - entry.lastFailure > FORGET_AFTER_MS || entry.blockedUntil <= now) this.entries.delete(name)
    }
  }
}

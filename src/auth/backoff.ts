/**
 * A failure backoff by key: free failures, then a wait that doubles with each
 * further failure, capped; a success resets the key. Never a lock for good.
 * The building block of the login throttle's (username, IP) counter and of
 * any other "slow down whoever keeps failing" rule.
 */
export interface Backoff {
  /** Milliseconds the key must still wait; 0 when it may try now. */
  retryAfterMs (key: string): Promise<number>
  recordFailure (key: string): Promise<void>
  recordSuccess (key: string): Promise<void>
  /**
   * Checks and counts in one atomic step, for attempts that must not race:
   * the longest wait among `keys` if any must wait, else a failure is
   * recorded on every key and 0 returned. The caller then makes its attempt
   * and calls recordSuccess on each key if it succeeded; a failed attempt
   * is already counted.
   */
  claim (keys: readonly string[]): Promise<number>
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

interface Entry {
  failures: number
  blockedUntil: number
  lastFailure: number
}

/** Entries are forgotten after this much quiet, so the map cannot grow without bound. */
export const FORGET_AFTER_MS = 24 * 60 * 60 * 1000
const MAX_ENTRIES = 100_000

export class MemoryBackoff implements Backoff {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly policy: BackoffPolicy, private readonly now: () => number = Date.now) {}

  async retryAfterMs (key: string): Promise<number> {
    return this.waitOf(key, this.now())
  }

  async recordFailure (key: string): Promise<void> {
    this.fail(key, this.now())
  }

  async claim (keys: readonly string[]): Promise<number> {
    // Synchronous from the check to the count, so parallel claims in this process cannot interleave.
    const now = this.now()
    const wait = Math.max(0, ...keys.map((key) => this.waitOf(key, now)))
    if (wait > 0) return wait
    for (const key of keys) this.fail(key, now)
    return 0
  }

  async recordSuccess (key: string): Promise<void> {
    this.entries.delete(key)
  }

  private waitOf (key: string, now: number): number {
    const entry = this.entries.get(key)
    return entry === undefined ? 0 : Math.max(0, entry.blockedUntil - now)
  }

  private fail (key: string, now: number): void {
    let entry = this.entries.get(key)
    if (entry === undefined || now - entry.lastFailure > FORGET_AFTER_MS) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(now)
      entry = { failures: 0, blockedUntil: 0, lastFailure: now }
      this.entries.set(key, entry)
    }
    entry.failures += 1
    entry.lastFailure = now
    entry.blockedUntil = now + backoffMs(entry.failures, this.policy)
  }

  private prune (now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.lastFailure > FORGET_AFTER_MS || entry.blockedUntil <= now) this.entries.delete(key)
    }
  }
}

import type { Backoff } from '../auth/backoff.js'

/** An attempt that was not checked because its user or IP is still waiting. */
export interface LockedOut {
  readonly locked: true
  readonly retryAfterMs: number
}

/**
 * Failed `admin_auth` attempts, counted per user and per client IP across all
 * of their sockets (and, with REDIS_URL, all instances), with the password
 * grant's backoff: free failures, then a wait that doubles with each further
 * failure, capped; a success resets both counts. While either one is waiting
 * every attempt is refused unchecked, the right PIN included, so a guesser
 * learns nothing.
 *
 * Each attempt is counted as a failure before it is checked (`claim`, one
 * atomic step) and taken back if it succeeds: otherwise a burst of guesses
 * pipelined on many sockets, or sent to several instances, would all pass the
 * check before the first failure was counted.
 */
export class AdminLockout {
  constructor (private readonly counts: Backoff) {}

  /** Runs `check` unless `user` or `ip` is waiting, and counts its outcome. */
  async attempt<T extends { readonly ok: boolean }> (user: string, ip: string, check: () => Promise<T>): Promise<T | LockedOut> {
    const keys = [`user:${user}`, `ip:${ip}`]
    const retryAfterMs = await this.counts.claim(keys)
    if (retryAfterMs > 0) return { locked: true, retryAfterMs }
    const result = await check()
    if (result.ok) for (const key of keys) await this.counts.recordSuccess(key)
    return result
  }
}

import { MemoryBackoff, type Backoff, type BackoffPolicy } from '../auth/backoff.js'

/** An attempt that was not checked because its user or IP is still waiting. */
export interface LockedOut {
  readonly locked: true
  readonly retryAfterMs: number
}

/**
 * Failed `admin_auth` attempts, counted per user and per client IP across all
 * of their sockets, with the password grant's backoff: free failures, then a
 * wait that doubles with each further failure, capped; a success resets both
 * counts. While either one is waiting every attempt is refused unchecked, the
 * right PIN included, so a guesser learns nothing.
 *
 * Attempts that share a user or an IP run one after another: the counts sit
 * behind an asynchronous interface, and without the queue a burst of guesses
 * pipelined on many sockets would all pass the check before the first
 * failure was counted.
 */
export class AdminLockout {
  private readonly counts: Backoff
  /** The last queued attempt of each key; only keys with an attempt in flight are here. */
  private readonly tails = new Map<string, Promise<void>>()

  constructor (policy: BackoffPolicy, now: () => number) {
    this.counts = new MemoryBackoff(policy, now)
  }

  /** Runs `check` unless `user` or `ip` is waiting, and counts its outcome. */
  async attempt<T extends { readonly ok: boolean }> (user: string, ip: string, check: () => Promise<T>): Promise<T | LockedOut> {
    const keys = [`user:${user}`, `ip:${ip}`]
    return await this.queue(keys, async () => {
      const waits = await Promise.all(keys.map(async (key) => await this.counts.retryAfterMs(key)))
      const retryAfterMs = Math.max(...waits)
      if (retryAfterMs > 0) return { locked: true, retryAfterMs } as const
      const result = await check()
      for (const key of keys) await (result.ok ? this.counts.recordSuccess(key) : this.counts.recordFailure(key))
      return result
    })
  }

  private async queue<T> (keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const before = Promise.all(keys.map(async (key) => { await this.tails.get(key) }))
    const run = before.then(task)
    const settled = run.then(() => undefined, () => undefined)
    for (const key of keys) this.tails.set(key, settled)
    void settled.then(() => {
      for (const key of keys) if (this.tails.get(key) === settled) this.tails.delete(key)
    })
    return await run
  }
}

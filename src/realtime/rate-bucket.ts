import type { Clock } from '../clock.js'

/**
 * A token bucket per connection: `burst` messages at once, refilled at
 * `ratePerSecond`. Refill is computed lazily on each take, so an idle socket
 * costs no timer.
 */
export class RateBucket {
  private tokens: number
  private last: number

  constructor (private readonly ratePerSecond: number, private readonly burst: number, private readonly clock: Clock) {
    this.tokens = burst
    this.last = clock.now()
  }

  /** Takes one token; false when the bucket is empty. */
  take (): boolean {
    const now = this.clock.now()
    // max(0, …): a wall clock stepped backwards must not drain the bucket.
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, now - this.last) * this.ratePerSecond / 1000)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  get full (): boolean {
    return this.tokens >= this.burst - 1
  }
}

export type RateVerdict = 'ok' | 'warn' | 'close'

/**
 * The policy on top of the bucket: the first message over the rate is
 * refused with a warning, the next one over it ends the socket, and a client
 * that stays under the rate until its bucket is full again is forgiven.
 */
export class RateGuard {
  private readonly bucket: RateBucket
  private warned = false

  constructor (ratePerSecond: number, burst: number, clock: Clock) {
    this.bucket = new RateBucket(ratePerSecond, burst, clock)
  }

  check (): RateVerdict {
    if (this.bucket.take()) {
      if (this.warned && this.bucket.full) this.warned = false
      return 'ok'
    }
    if (this.warned) return 'close'
    this.warned = true
    return 'warn'
  }
}

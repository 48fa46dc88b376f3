/**
 * A token bucket per connection: `burst` messages at once, refilled at
 * `ratePerSecond`. Refill is computed lazily on each take, so an idle socket
 * costs no timer.
 */
export class RateBucket {
  private tokens: number
  private last: number

  constructor (private readonly ratePerSecond: number, private readonly burst: number, now: number = performance.now()) {
    this.tokens = burst
    this.last = now
  }

  /** Takes one token; false when the bucket is empty. */
  take (now: number = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.ratePerSecond / 1000)
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

  constructor (ratePerSecond: number, burst: number) {
    this.bucket = new RateBucket(ratePerSecond, burst)
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

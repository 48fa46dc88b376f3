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

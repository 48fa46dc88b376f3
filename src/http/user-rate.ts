import type { Clock } from '../clock.js'
import { RateBucket } from '../realtime/rate-bucket.js'

/**
 * Keys are authenticated usernames, so the map is bounded by the user table;
 * past this many, buckets that were full at their last message are dropped
 * (a new bucket starts full, so nothing is forgiven by dropping them).
 */
const PRUNE_AT = 10_000

/**
 * The socket's token bucket (`WS_MESSAGES_PER_SECOND`, `WS_MESSAGE_BURST`),
 * one per user, on the injected clock: for routes that must not be a way
 * around the socket's message rate.
 */
export class UserRate {
  private readonly buckets = new Map<string, RateBucket>()

  constructor (private readonly ratePerSecond: number, private readonly burst: number, private readonly clock: Clock) {}

  /** Takes one message from `user`'s bucket; false when it is empty. */
  take (user: string): boolean {
    let bucket = this.buckets.get(user)
    if (bucket === undefined) {
      if (this.buckets.size >= PRUNE_AT) this.prune()
      bucket = new RateBucket(this.ratePerSecond, this.burst, this.clock)
      this.buckets.set(user, bucket)
    }
    return bucket.take()
  }

  private prune (): void {
    for (const [user, bucket] of this.buckets) {
      if (bucket.full) this.buckets.delete(user)
    }
  }
}

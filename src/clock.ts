/**
 * Where the code that owns a time window (admin elevation, message-rate
 * buckets, login backoff) reads the time. Injected so that a test can move
 * time forward instead of waiting for it.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, like Date.now(). */
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }

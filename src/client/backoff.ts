export interface BackoffOptions {
  /** The ceiling of the first delay, in ms (default 500). */
  baseMs?: number
  /** The ceiling of every delay, in ms (default 30 000). */
  maxMs?: number
}

/**
 * Exponential backoff with full jitter (a uniform pick in [0, ceiling]):
 * after a server restart every client would otherwise come back in the same
 * instant, which is the thundering herd the jitter is for.
 */
export function backoffDelay (attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500
  const max = options.maxMs ?? 30_000
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}

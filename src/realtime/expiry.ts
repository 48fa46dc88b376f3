/** setTimeout's ceiling; a longer expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Fires once when a token's `exp` (plus the clock tolerance the verifier
 * allows, so that a token it accepted is not closed at once) has passed.
 */
export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly toleranceSeconds: number, private readonly onExpired: () => void) {}

  /** Replaces any earlier schedule; `null` (the test token) never expires. */
  schedule (exp: number | null): void {
    this.clear()
    if (exp === null) return
    const remaining = (exp + this.toleranceSeconds) * 1000 - Date.now()
    if (remaining <= 0) {
      this.onExpired()
      return
    }
    this.timer = setTimeout(() => { this.schedule(exp) }, Math.min(remaining, MAX_TIMER_MS))
  }

  clear (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

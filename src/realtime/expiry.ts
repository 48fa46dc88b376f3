/** setTimeout's ceiling; a longer wait is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Closes sockets when their token's `exp` (plus the clock tolerance the
 * verifier allows, so that a token it accepted is not closed at once) has
 * passed. One timer for the whole instance rather than one per socket: a
 * Timeout, its callback and its numbers cost an idle socket ≈ 300 bytes.
 * Sockets are grouped by the moment they are due (tokens issued in the same
 * second share one), and the timer is set for the earliest group.
 */
export class ExpirySchedule<T> {
  private readonly due = new Map<number, Set<T>>()
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity

  constructor (private readonly toleranceSeconds: number, private readonly onExpired: (item: T) => void) {}

  /**
   * Moves `item` from the expiry `from` to `to` (Unix seconds; null is the
   * test token, which never expires, and undefined is none). An expiry
   * already past fires at once.
   */
  move (item: T, from: number | null | undefined, to: number | null | undefined): void {
    if (from !== null && from !== undefined) this.remove(item, this.dueAt(from))
    if (to === null || to === undefined) return
    const at = this.dueAt(to)
    if (at <= Date.now()) {
      this.onExpired(item)
      return
    }
    let group = this.due.get(at)
    if (group === undefined) this.due.set(at, group = new Set())
    group.add(item)
    if (at < this.timerAt) this.arm(at)
  }

  /** How many sockets wait for their expiry. */
  get size (): number {
    let n = 0
    for (const group of this.due.values()) n += group.size
    return n
  }

  close (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
    this.due.clear()
  }

  private dueAt (exp: number): number {
    return (exp + this.toleranceSeconds) * 1000
  }

  private remove (item: T, at: number): void {
    const group = this.due.get(at)
    if (group === undefined) return
    group.delete(item)
    // The timer may stay armed for a group now gone: it finds nothing due and re-arms.
    if (group.size === 0) this.due.delete(at)
  }

  private arm (at: number): void {
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => { this.fire() }, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS))
    // The sockets keep the process alive, not their expiry.
    this.timer.unref()
  }

  private fire (): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = Date.now()
    const expired: T[] = []
    let next = Infinity
    for (const [at, group] of this.due) {
      if (at > now) {
        next = Math.min(next, at)
        continue
      }
      this.due.delete(at)
      for (const item of group) expired.push(item)
    }
    if (next !== Infinity) this.arm(next)
    for (const item of expired) this.onExpired(item)
  }
}

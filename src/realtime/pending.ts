import type { PendingSlot } from './admission.js'
import type { RealtimeStats } from './stats.js'

/** Messages a client may pipeline behind its `authenticate` while it is checked. */
const MAX_QUEUED_WHILE_AUTHENTICATING = 16

/**
 * What a socket that connected without credentials holds until its first
 * `authenticate` is decided: its deadline, its place in the pending count,
 * and the messages it sent behind the `authenticate` meanwhile.
 */
export class PendingAuth {
  private timer: NodeJS.Timeout | undefined
  private slot: PendingSlot | undefined
  private counted = false
  private queued: string[] = []

  constructor (private readonly stats: RealtimeStats) {}

  start (slot: PendingSlot | undefined, timeoutMs: number, onTimeout: () => void): void {
    this.slot = slot
    this.counted = true
    this.stats.pending++
    this.timer = setTimeout(onTimeout, timeoutMs)
  }

  /** Keeps a message for after authentication; false when too many are waiting. */
  hold (text: string): boolean {
    if (this.queued.length >= MAX_QUEUED_WHILE_AUTHENTICATING) return false
    this.queued.push(text)
    return true
  }

  /** Authenticated: frees its place under the pending caps and hands back the held messages. */
  authenticated (): string[] {
    const queued = this.queued
    this.end()
    // Its TCP close would free the slot otherwise, but it no longer counts as pending.
    this.slot?.authenticated()
    this.slot = undefined
    return queued
  }

  /** Closed, or done with: stops the deadline and the count; the slot is freed by its TCP close. */
  end (): void {
    if (this.counted) {
      this.counted = false
      this.stats.pending--
    }
    clearTimeout(this.timer)
    this.timer = undefined
    this.queued = []
  }
}

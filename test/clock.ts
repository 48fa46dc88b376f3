import type { Clock } from '../src/clock.js'

/** A clock that moves only when a test says so, starting at the real time. */
export class ManualClock implements Clock {
  private at = Date.now()

  now (): number {
    return this.at
  }

  advance (ms: number): void {
    this.at += ms
  }
}

import type { Clock } from '../clock.js'

type State =
  | { readonly kind: 'none' }
  | { readonly kind: 'until', readonly until: number }
  | { readonly kind: 'forLife' }

const NONE: State = { kind: 'none' }

/**
 * Whether a socket may send admin messages. An `admin_auth` elevates it for a
 * while, each admin message extends that, and idle time ends it; an
 * `/admin/ws` socket is elevated for its whole life. Read on the injected
 * clock, so that a test moves time instead of waiting for it.
 */
export class Elevation {
  private state: State = NONE

  constructor (private readonly clock: Clock) {}

  get active (): boolean {
    switch (this.state.kind) {
      case 'none': return false
      case 'forLife': return true
      case 'until': return this.state.until > this.clock.now()
    }
  }

  /** Elevates for `ms` from now; returns when that ends (epoch ms), or null when it never does. */
  extend (ms: number): number | null {
    if (this.state.kind === 'forLife') return null
    const until = this.clock.now() + ms
    this.state = { kind: 'until', until }
    return until
  }

  grantForLife (): void {
    this.state = { kind: 'forLife' }
  }

  end (): void {
    this.state = NONE
  }
}

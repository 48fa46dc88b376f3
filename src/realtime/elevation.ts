import type { Clock } from '../clock.js'

type State =
  | { readonly kind: 'none' }
  | { readonly kind: 'until', readonly until: number, readonly grantedBy: string | undefined }
  | { readonly kind: 'forLife', readonly grantedBy: string }

const NONE: State = { kind: 'none' }

/**
 * Whether a socket may send admin messages. An `admin_auth` elevates it for a
 * while, each admin message extends that, and idle time ends it; an
 * `/admin/ws` socket is elevated for its whole life. Read on the injected
 * clock, so that a test moves time instead of waiting for it.
 *
 * `grantedBy` is the user whose admin role granted it (an admin's token, or
 * the `/admin/ws` socket's own user), so that losing the role can end it; the
 * admin PIN grants it on no one's behalf.
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

  get forLife (): boolean { return this.state.kind === 'forLife' }

  get grantedBy (): string | undefined {
    return this.state.kind === 'none' ? undefined : this.state.grantedBy
  }

  /** Elevates for `ms` from now on `grantedBy`'s behalf; returns when that ends (epoch ms), or null when it never does. */
  grant (ms: number, grantedBy: string | undefined): number | null {
    if (this.state.kind === 'forLife') return null
    const until = this.clock.now() + ms
    this.state = { kind: 'until', until, grantedBy }
    return until
  }

  /** Renews an elevation for `ms` from now, on the same behalf. */
  extend (ms: number): number | null {
    return this.grant(ms, this.grantedBy)
  }

  grantForLife (grantedBy: string): void {
    this.state = { kind: 'forLife', grantedBy }
  }

  end (): void {
    this.state = NONE
  }
}

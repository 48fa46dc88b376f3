export interface AdmissionLimits {
  /** Sockets of any state from one IP. */
  readonly maxPerIp: number
  /** Sockets not yet authenticated, in total and from one IP. */
  readonly maxPending: number
  readonly maxPendingPerIp: number
}

/** Why a handshake was refused; also the key of its counter in the stats. */
export type Refusal = 'connectionsPerIp' | 'pendingPerIp' | 'pendingTotal'

/** A pending socket's place; given back when it authenticates, or when its TCP socket closes. */
export interface PendingSlot {
  authenticated (): void
}

/** The TCP socket whose close gives a place back (a net.Socket; an upgrade's is typed as a Duplex). */
export interface HeldSocket {
  /** A TCP socket's; an Engine.IO session has none (it is live until its 'close'). */
  readonly destroyed?: boolean
  on (event: 'close', listener: () => void): unknown
}

export type Admitted = { readonly ok: true, readonly slot: PendingSlot } | { readonly ok: false, readonly refusal: Refusal }

function add (counts: Map<string, number>, ip: string, delta: number): void {
  const n = (counts.get(ip) ?? 0) + delta
  // Only addresses with a socket open stay in the map, so it cannot grow without bound.
  if (n <= 0) counts.delete(ip)
  else counts.set(ip, n)
}

/**
 * One admitted socket's place under the caps: pending until it authenticates
 * (or closes), held until its TCP socket closes. Both steps happen once.
 */
class Place implements PendingSlot {
  private state: 'pending' | 'held' | 'released'

  constructor (private readonly admission: Admission, private readonly ip: string, pending: boolean) {
    this.state = pending ? 'pending' : 'held'
  }

  authenticated (): void {
    if (this.state !== 'pending') return
    this.state = 'held'
    this.admission.leavePending(this.ip)
  }

  release (): void {
    if (this.state === 'released') return
    this.authenticated()
    this.state = 'released'
    this.admission.leave(this.ip)
  }
}

/**
 * Counts WebSocket handshakes per client IP and in total, from the moment
 * one is admitted until its TCP socket closes: a file descriptor is held
 * that long, even after a close frame, for as long as the peer delays its
 * answer. Checked before any credential is read, so a refusal costs a map
 * lookup.
 */
export class Admission {
  private pendingTotal = 0
  private readonly pendingByIp = new Map<string, number>()
  private readonly allByIp = new Map<string, number>()

  constructor (private readonly limits: AdmissionLimits) {}

  /** Whether `ip` is under its cap of sockets of any state: a look before a handshake that admits later. */
  hasRoomFor (ip: string): boolean {
    return (this.allByIp.get(ip) ?? 0) < this.limits.maxPerIp
  }

  /** Admits a handshake from `ip` (`pending`: it carries no credentials) and holds its place until `socket` closes. */
  admit (ip: string, pending: boolean, socket: HeldSocket): Admitted {
    if ((this.allByIp.get(ip) ?? 0) >= this.limits.maxPerIp) return { ok: false, refusal: 'connectionsPerIp' }
    if (pending) {
      // The per-IP cap first: one noisy address is told 429, not everyone 503.
      if ((this.pendingByIp.get(ip) ?? 0) >= this.limits.maxPendingPerIp) return { ok: false, refusal: 'pendingPerIp' }
      if (this.pendingTotal >= this.limits.maxPending) return { ok: false, refusal: 'pendingTotal' }
      this.pendingTotal++
      add(this.pendingByIp, ip, 1)
    }
    add(this.allByIp, ip, 1)
    const place = new Place(this, ip, pending)
    // `on`, not `once`: 'close' comes once anyway and release is idempotent,
    // and `once` would keep a wrapper per socket for the socket's whole life.
    if (socket.destroyed === true) place.release()
    else socket.on('close', () => { place.release() })
    return { ok: true, slot: place }
  }

  /** @internal Place's: one pending socket from `ip` authenticated or left. */
  leavePending (ip: string): void {
    this.pendingTotal--
    add(this.pendingByIp, ip, -1)
  }

  /** @internal Place's: a socket from `ip` closed. */
  leave (ip: string): void {
    add(this.allByIp, ip, -1)
  }
}

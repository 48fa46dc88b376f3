import { randomUUID } from 'node:crypto'
import type { RawData, WebSocket } from 'ws'
import { ADMIN_ROLE } from '../auth/bearer.js'
import type { Principal } from '../auth/principal.js'
import { authenticateSocket, closeFor } from './auth-result.js'
import type { PendingSlot } from './admission.js'
import type { RealtimeContext } from './context.js'
import { writeEncoded, type EncodedFrame } from './frame.js'
import { dispatch } from './dispatch.js'
import type { HubClient } from './hub.js'
import { parseClientMessage, type ClientMessage, type MessageError } from './messages.js'
import { Close, type CloseSpec, ErrorCode, GLOBAL_CHANNEL, ReservedType } from '../protocol/index.js'
import { ExpiryTimer } from './expiry.js'
import { RateGuard } from './rate-bucket.js'
import { statsUpdate } from './stats.js'

type State = 'pending' | 'authenticating' | 'open' | 'closed'

/** `/ws` sockets are users; `/admin/ws` sockets must hold role admin and stay elevated. */
export type ConnectionKind = 'user' | 'admin'

/** The internal channel that carries `stats_update` to admin sockets; `$` is not a legal client channel. */
export const ADMIN_CHANNEL = '$admin'

/** Where a socket came from, for logs and the audit trail. */
export interface Peer {
  readonly ip: string
  readonly userAgent: string | null
}

/** Messages a client may pipeline behind its `authenticate` while it is checked. */
const MAX_QUEUED_WHILE_AUTHENTICATING = 16

/**
 * One socket's life: pending → open → closed. Listeners are attached in the
 * constructor, synchronously in the route handler, so a message sent right
 * after the handshake is never lost.
 */
export class Connection implements HubClient {
  readonly connectionId = randomUUID()
  readonly channels = new Set<string>([GLOBAL_CHANNEL])
  private state: State = 'pending'
  private current: Principal | undefined
  private readonly expiry: ExpiryTimer
  private authTimer: NodeJS.Timeout | undefined
  private queued: string[] = []
  private readonly rate: RateGuard
  /** Epoch ms until which admin messages are allowed; Infinity on /admin/ws. */
  private elevatedUntil = 0
  private countedPending = false
  private pendingSlot: PendingSlot | undefined

  constructor (readonly socket: WebSocket, readonly ctx: RealtimeContext, readonly peer: Peer, readonly kind: ConnectionKind = 'user') {
    this.rate = new RateGuard(ctx.config.wsMessagesPerSecond, ctx.config.wsMessageBurst, ctx.clock)
    this.expiry = new ExpiryTimer(ctx.config.clockToleranceSeconds, () => { this.closeWith(Close.tokenExpired) })
    socket.on('message', (data, isBinary) => { this.onMessage(data, isBinary) })
    socket.on('close', () => { this.release() })
    socket.on('error', (err) => { ctx.log.debug({ err, connectionId: this.connectionId }, 'websocket error') })
    ctx.connections.add(this)
  }

  get ip (): string {
    return this.peer.ip
  }

  get userAgent (): string | null {
    return this.peer.userAgent
  }

  get username (): string {
    return this.current?.username ?? ''
  }

  get sid (): string | undefined {
    return this.current?.sid
  }

  get principal (): Principal | undefined {
    return this.current
  }

  get isOpen (): boolean {
    return this.state === 'open'
  }

  /** No credentials in the handshake: wait for a first `authenticate` message. */
  awaitAuthentication (slot?: PendingSlot): void {
    this.pendingSlot = slot
    this.countedPending = true
    this.ctx.stats.pending++
    this.authTimer = setTimeout(() => { this.closeWith(Close.authTimeout) }, this.ctx.config.wsAuthTimeoutMs)
  }

  open (principal: Principal): void {
    if (this.state === 'closed') return
    this.leavePending()
    // Authenticated: no longer counts against the pending caps (its TCP close would free it otherwise).
    this.pendingSlot?.authenticated()
    this.pendingSlot = undefined
    clearTimeout(this.authTimer)
    if (this.kind === 'admin' && !principal.roles.includes(ADMIN_ROLE)) {
      this.closeWith(Close.forbidden)
      return
    }
    if (this.ctx.hub.connectionsOf(principal.username) >= this.ctx.config.wsMaxConnectionsPerUser) {
      this.closeWith(Close.tooManyConnections)
      return
    }
    this.current = principal
    this.state = 'open'
    if (this.kind === 'admin') {
      this.elevatedUntil = Infinity
      this.channels.add(ADMIN_CHANNEL)
    }
    this.ctx.hub.join(this)
    this.expiry.schedule(principal.exp)
    this.send({ type: ReservedType.connectionEstablished, user: principal.username, connectionId: this.connectionId, expiresAt: principal.exp })
    const queued = this.queued
    this.queued = []
    for (const text of queued) this.handleText(text)
    if (this.kind === 'admin') this.send(statsUpdate(this.ctx.stats))
  }

  get elevated (): boolean {
    return this.elevatedUntil > this.ctx.clock.now()
  }

  /** Elevates for `ms` from now; each admin command calls it again, so elevation ends after idle time. */
  elevate (ms: number): number {
    if (this.elevatedUntil !== Infinity) this.elevatedUntil = this.ctx.clock.now() + ms
    return this.elevatedUntil
  }

  /** Moves the expiry after an in-band refresh; the session stays the same socket. */
  renew (principal: Principal): void {
    // A token from a new login carries a new session id: re-index under it.
    const moved = principal.sid !== this.current?.sid
    if (moved) this.ctx.hub.leave(this)
    this.current = principal
    if (moved) this.ctx.hub.join(this)
    this.expiry.schedule(principal.exp)
  }

  send (message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message))
  }

  sendError (error: MessageError, requestId?: unknown): void {
    this.send({ type: ReservedType.error, code: error.code, message: error.message, ...(typeof requestId === 'string' ? { requestId } : {}) })
  }

  sendFrame (frame: EncodedFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    // A client that does not read would otherwise grow this buffer without bound.
    if (this.socket.bufferedAmount > this.ctx.config.wsMaxBufferedBytes) {
      this.closeWith(Close.slowConsumer)
      return
    }
    if (this.ctx.config.wsPerMessageDeflate) this.socket.send(frame.text)
    else writeEncoded(this.socket, frame)
  }

  closeWith (spec: CloseSpec): void {
    if (this.state === 'closed') return
    this.release()
    this.socket.close(spec.code, spec.reason)
  }

  private leavePending (): void {
    if (!this.countedPending) return
    this.countedPending = false
    this.ctx.stats.pending--
  }

  private release (): void {
    this.leavePending()
    this.elevatedUntil = 0
    this.state = 'closed'
    this.expiry.clear()
    clearTimeout(this.authTimer)
    this.queued = []
    this.ctx.hub.leave(this)
    this.ctx.connections.delete(this)
  }

  private onMessage (data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return
    // A bug in one message's handling ends that socket, never the process.
    try {
      this.receive(data, isBinary)
    } catch (err) {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'websocket message handler failed')
      this.closeWith(Close.internalError)
    }
  }

  private receive (data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.closeWith(Close.binaryNotSupported)
      return
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as Buffer).toString()
    if (this.state === 'open') {
      if (!this.withinRate()) return
      this.ctx.stats.received()
    }
    if (this.state === 'authenticating') {
      if (this.queued.length >= MAX_QUEUED_WHILE_AUTHENTICATING) this.closeWith(Close.rateLimited)
      else this.queued.push(text)
      return
    }
    this.handleText(text)
  }

  private withinRate (): boolean {
    const verdict = this.rate.check()
    if (verdict === 'close') this.closeWith(Close.rateLimited)
    if (verdict === 'warn') this.sendError({ code: ErrorCode.rateLimited, message: `Over ${this.ctx.config.wsMessagesPerSecond} messages per second; slow down or be disconnected` })
    return verdict === 'ok'
  }

  private handleText (text: string): void {
    const parsed = parseClientMessage(text)
    if (this.state === 'pending') {
      this.firstMessage(parsed.ok ? parsed.message : undefined)
      return
    }
    if (!parsed.ok) {
      this.sendError(parsed.error)
      return
    }
    dispatch(this, parsed.message)
  }

  private firstMessage (message: ClientMessage | undefined): void {
    if (message?.type !== ReservedType.authenticate || typeof message.token !== 'string') {
      this.closeWith(Close.missingToken)
      return
    }
    this.state = 'authenticating'
    const attempt = { ...this.peer, token: message.token, source: 'message' as const }
    authenticateSocket(this.ctx, attempt, this.ctx.log).then((outcome) => {
      if (this.state === 'closed') return
      if (!outcome.ok) {
        const spec = closeFor(outcome.failure)
        this.send({ type: ReservedType.authFailed, reason: spec.reason })
        this.closeWith(spec)
        return
      }
      this.send({ type: ReservedType.authenticated, user: outcome.principal.username, expiresAt: outcome.principal.exp })
      this.open(outcome.principal)
    }, (err: unknown) => {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'websocket authentication crashed')
      this.closeWith(Close.internalError)
    })
  }
}

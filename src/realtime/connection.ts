import { randomUUID } from 'node:crypto'
import type { RawData, WebSocket } from 'ws'
import type { Principal } from '../auth/principal.js'
import { Close, type CloseSpec, ErrorCode, ReservedType } from '../protocol/index.js'
import type { PendingSlot } from './admission.js'
import { authAnswer, authenticateSocket, closeFor } from './auth-result.js'
import type { RealtimeContext } from './context.js'
import { Elevation } from './elevation.js'
import { enterAdminEndpoint, refusalFor, type ConnectionKind } from './endpoint.js'
import { sendEncoded, type EncodedFrame } from './frame.js'
import type { SocketView } from './handlers.js'
import type { HubClient } from './hub.js'
import { Membership } from './membership.js'
import { parseClientMessage, textOf, type ClientMessage, type MessageError } from './messages.js'
import { PendingAuth } from './pending.js'
import { RateGuard } from './rate-bucket.js'

type State = 'pending' | 'authenticating' | 'open' | 'closed'

/** Where a socket came from, for logs and the audit trail. */
export interface Peer {
  readonly ip: string
  readonly userAgent: string | null
}

/**
 * One socket's life: pending → authenticating → open → closed (a socket with
 * credentials in its handshake goes straight to open). Listeners are attached
 * in the constructor, synchronously in the route handler, so a message sent
 * right after the handshake is never lost. Messages of an open socket go to
 * the handler table; elevation and channels are objects of their own.
 */
export class Connection implements HubClient, SocketView {
  readonly connectionId = randomUUID()
  private state: State = 'pending'
  private current: Principal | undefined
  // Made on first use: most sockets never need some of them, and an idle socket's bytes are the memory budget.
  private elevationState: Elevation | undefined
  private membership: Membership | undefined
  private pending: PendingAuth | undefined
  private rate: RateGuard | undefined
  /** The user whose place across instances this socket holds (or is acquiring); only with connection counts. */
  private leasedBy: string | undefined

  constructor (readonly socket: WebSocket, private readonly ctx: RealtimeContext, readonly peer: Peer, readonly kind: ConnectionKind = 'user') {
    socket.on('message', (data, isBinary) => { this.onMessage(data, isBinary) })
    socket.on('close', () => { this.release() })
    socket.on('error', (err) => { ctx.log.debug({ err, connectionId: this.connectionId }, 'websocket error') })
    ctx.connections.add(this)
  }

  get ip (): string { return this.peer.ip }
  get userAgent (): string | null { return this.peer.userAgent }
  get username (): string { return this.current?.username ?? '' }
  get sid (): string | undefined { return this.current?.sid }
  get principal (): Principal | undefined { return this.current }
  get isOpen (): boolean { return this.state === 'open' }
  get elevation (): Elevation { return (this.elevationState ??= new Elevation(this.ctx.clock)) }
  get channels (): Membership { return (this.membership ??= new Membership(this.ctx.hub, this, this.ctx.config.wsMaxSubscriptions)) }

  private holding (): PendingAuth {
    return (this.pending ??= new PendingAuth(this.ctx.stats))
  }

  /** No credentials in the handshake: wait for a first `authenticate` message. */
  awaitAuthentication (slot?: PendingSlot): void {
    this.holding().start(slot, this.ctx.config.wsAuthTimeoutMs, () => { this.closeWith(Close.authTimeout) })
  }

  open (principal: Principal): void {
    if (this.state === 'closed') return
    const queued = this.pending?.authenticated() ?? []
    const refused = refusalFor(this.kind, principal, this.ctx.hub, this.ctx.config.wsMaxConnectionsPerUser)
    if (refused !== undefined) {
      this.closeWith(refused)
      return
    }
    const counts = this.ctx.connectionCounts
    if (counts === undefined) {
      this.join(principal, queued)
      return
    }
    // Several instances: the place is taken in Redis first; messages sent meanwhile wait, as during authentication.
    this.state = 'authenticating'
    this.leasedBy = principal.username
    counts.acquire(principal.username, this.connectionId, this.ctx.config.wsMaxConnectionsPerUser).then((ok) => {
      if (this.state === 'closed') return
      if (ok) this.join(principal, [...queued, ...(this.pending?.authenticated() ?? [])])
      else this.closeWith(Close.tooManyConnections)
    }, (err: unknown) => {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'connection count failed')
      this.closeWith(Close.internalError)
    })
  }

  private join (principal: Principal, queued: readonly string[]): void {
    this.current = principal
    this.state = 'open'
    this.pending = undefined
    this.ctx.hub.join(this)
    if (this.kind === 'admin') enterAdminEndpoint(this.ctx.hub, this, this.elevation)
    this.ctx.expiries.move(this, undefined, principal.exp)
    this.send({ type: ReservedType.connectionEstablished, user: principal.username, connectionId: this.connectionId, expiresAt: principal.exp })
    for (const text of queued) this.handleText(text)
    if (this.kind === 'admin') this.send(this.ctx.statsUpdate())
  }

  /** A new principal for the same user (an in-band refresh, new roles): moves the expiry; the socket stays. */
  renew (principal: Principal): void {
    const previous = this.current
    this.current = principal
    // A token from a new login carries a new session id: re-index under it.
    this.ctx.hub.moveSession(this, previous?.sid)
    this.ctx.expiries.move(this, previous?.exp, principal.exp)
  }

  send (message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message))
  }

  sendError (error: MessageError, requestId?: unknown): void {
    this.send({ type: ReservedType.error, code: error.code, message: error.message, ...(typeof requestId === 'string' ? { requestId } : {}) })
  }

  sendFrame (frame: EncodedFrame): void {
    const { wsMaxBufferedBytes, wsPerMessageDeflate } = this.ctx.config
    if (sendEncoded(this.socket, frame, wsMaxBufferedBytes, wsPerMessageDeflate) === 'slow') this.closeWith(Close.slowConsumer)
  }

  closeWith (spec: CloseSpec): void {
    if (this.state === 'closed') return
    this.release()
    this.socket.close(spec.code, spec.reason)
  }

  private release (): void {
    this.state = 'closed'
    this.pending?.end()
    this.elevationState?.end()
    this.ctx.expiries.move(this, this.current?.exp, undefined)
    this.ctx.hub.leave(this)
    this.ctx.connections.delete(this)
    if (this.leasedBy !== undefined) void this.ctx.connectionCounts?.release(this.leasedBy, this.connectionId)
  }

  private onMessage (data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return
    // A bug in one message's handling ends that socket, never the process.
    try {
      if (isBinary) this.closeWith(Close.binaryNotSupported)
      else this.receive(textOf(data))
    } catch (err) {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'websocket message handler failed')
      this.closeWith(Close.internalError)
    }
  }

  private receive (text: string): void {
    if (this.state === 'authenticating') {
      // Pipelined behind the `authenticate`: handled once it succeeds.
      if (!this.holding().hold(text)) this.closeWith(Close.rateLimited)
    } else if (this.state !== 'open') {
      this.handleText(text)
    } else if (this.withinRate()) {
      this.ctx.stats.received()
      this.handleText(text)
    }
  }

  private withinRate (): boolean {
    const { wsMessagesPerSecond, wsMessageBurst } = this.ctx.config
    // Made at the first message, full: as it would be had it been made at connect.
    const verdict = (this.rate ??= new RateGuard(wsMessagesPerSecond, wsMessageBurst, this.ctx.clock)).check()
    if (verdict === 'close') this.closeWith(Close.rateLimited)
    if (verdict === 'warn') this.sendError({ code: ErrorCode.rateLimited, message: `Over ${wsMessagesPerSecond} messages per second; slow down or be disconnected` })
    return verdict === 'ok'
  }

  private handleText (text: string): void {
    const parsed = parseClientMessage(text)
    if (this.state === 'pending') this.firstMessage(parsed.ok ? parsed.message : undefined)
    else if (!parsed.ok) this.sendError(parsed.error)
    else this.ctx.handlers.dispatch(this, parsed.message)
  }

  private firstMessage (message: ClientMessage | undefined): void {
    const token = message?.type === ReservedType.authenticate ? message.token : undefined
    if (typeof token !== 'string') {
      this.closeWith(Close.missingToken)
      return
    }
    this.state = 'authenticating'
    authenticateSocket(this.ctx, { ...this.peer, token, source: 'message' }, this.ctx.log).then((outcome) => {
      if (this.state === 'closed') return
      this.send(authAnswer(outcome))
      if (outcome.ok) this.open(outcome.principal)
      else this.closeWith(closeFor(outcome.failure))
    }, (err: unknown) => {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'websocket authentication crashed')
      this.closeWith(Close.internalError)
    })
  }
}

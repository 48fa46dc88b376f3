import { randomUUID } from 'node:crypto'
import type { Socket } from 'socket.io'
import type { Principal } from '../auth/principal.js'
import { Close, type CloseSpec, ErrorCode, ReservedType } from '../protocol/index.js'
import type { Peer } from '../realtime/connection.js'
import type { RealtimeContext } from '../realtime/context.js'
import { Elevation } from '../realtime/elevation.js'
import type { EncodedFrame } from '../realtime/frame.js'
import type { SocketView } from '../realtime/handlers.js'
import type { HubClient } from '../realtime/hub.js'
import { Membership } from '../realtime/membership.js'
import type { MessageError } from '../realtime/messages.js'
import { RateGuard } from '../realtime/rate-bucket.js'
import { messageOfEvent, messagePacketOf } from './packets.js'
import { disconnectReason } from './refusal.js'
import type { SocketIoRegistry } from './registry.js'

type State = 'admitted' | 'open' | 'closed'

/** Engine.IO members its types leave out: a received packet, and the websocket under the transport. */
interface EnginePacket {
  readonly type: string
  readonly data?: unknown
}
interface WebSocketTransport {
  readonly socket?: { readonly bufferedAmount?: number }
}

/**
 * Closes after which the client should come back (another instance, a
 * moment later): the transport is closed, which Socket.IO clients answer by
 * reconnecting. Every other close is a server disconnect, after which they
 * stay away until the application reconnects them.
 */
const RECONNECT_AFTER: ReadonlySet<CloseSpec> = new Set([Close.shuttingDown, Close.internalError, Close.slowConsumer])

/**
 * One authenticated Socket.IO socket, a hub member like a `/ws` Connection:
 * the same handler table, elevation, channels, expiry and message rate.
 * Admitted by the handshake middleware, open once Socket.IO connects it,
 * closed once: by the server (`closeWith`, after a `disconnect_reason`
 * event) or by the client going away.
 */
export class SocketIoClient implements HubClient, SocketView {
  readonly connectionId = randomUUID()
  readonly elevation: Elevation
  readonly channels: Membership
  private state: State = 'admitted'
  private current: Principal
  private readonly rate: RateGuard
  /** The user whose place across instances this socket holds; only with connection counts. */
  private leasedBy: string | undefined
  /** Bytes of channel messages in Engine.IO's write buffer, not yet handed to the transport. */
  private queued = 0

  constructor (private readonly socket: Socket, private readonly ctx: RealtimeContext, private readonly registry: SocketIoRegistry, readonly peer: Peer, principal: Principal) {
    this.current = principal
    this.elevation = new Elevation(ctx.clock)
    this.channels = new Membership(ctx.hub, this, ctx.config.wsMaxSubscriptions)
    this.rate = new RateGuard(ctx.config.wsMessagesPerSecond, ctx.config.wsMessageBurst, ctx.clock)
    registry.admitted(this, socket.conn)
    // Gone before or after it connected: Socket.IO reports no disconnect for a socket it never connected.
    socket.conn.once('close', () => { this.release() })
  }

  get ip (): string { return this.peer.ip }
  get userAgent (): string | null { return this.peer.userAgent }
  get username (): string { return this.current.username }
  get sid (): string | undefined { return this.current.sid }
  get principal (): Principal { return this.current }
  get isOpen (): boolean { return this.state === 'open' }
  get isClosed (): boolean { return this.state === 'closed' }

  /** Takes this user's place across instances (Redis); call release() if it is refused. */
  leaseFrom (username: string): void {
    this.leasedBy = username
  }

  /** Socket.IO connected the socket: it joins the hub and is told who it is, as `/ws` sockets are. */
  open (): void {
    if (this.state !== 'admitted') return
    this.state = 'open'
    this.registry.settled(this)
    this.ctx.hub.join(this)
    this.socket.onAny((event: unknown, ...args: unknown[]) => { this.onEvent(event, args) })
    this.socket.on('disconnect', () => { this.release() })
    this.socket.conn.on('packet', (packet: EnginePacket) => { this.onPacket(packet) })
    this.socket.conn.on('flush', () => { this.queued = 0 })
    this.ctx.expiries.move(this, undefined, this.current.exp)
    this.send({ type: ReservedType.connectionEstablished, user: this.current.username, connectionId: this.connectionId, expiresAt: this.current.exp })
  }

  renew (principal: Principal): void {
    const previous = this.current
    this.current = principal
    this.ctx.hub.moveSession(this, previous.sid)
    this.ctx.expiries.move(this, previous.exp, principal.exp)
  }

  /** A reply to this socket: an event named by its type (`admin_auth_response`, `error`, `subscribed`, …). */
  send (message: object): void {
    if (this.state !== 'open') return
    const { type } = message as { type?: unknown }
    this.socket.emit(typeof type === 'string' ? type : 'message', message)
  }

  sendError (error: MessageError, requestId?: unknown): void {
    this.send({ type: ReservedType.error, code: error.code, message: error.message, ...(typeof requestId === 'string' ? { requestId } : {}) })
  }

  /** A channel message: a `message` event, its packet built once per broadcast (see packets.ts). */
  sendFrame (frame: EncodedFrame): void {
    const conn = this.socket.conn
    if (this.state !== 'open' || conn.readyState !== 'open') return
    const transport = conn.transport as unknown as WebSocketTransport
    if (this.queued + (transport.socket?.bufferedAmount ?? 0) > this.ctx.config.wsMaxBufferedBytes) {
      this.closeWith(Close.slowConsumer)
      return
    }
    const packet = messagePacketOf(frame)
    this.queued += packet.text.length
    conn.write(packet.text, packet.options)
  }

  /** Tells the client why (`disconnect_reason`), then disconnects it; the event leaves before the close. */
  closeWith (spec: CloseSpec): void {
    if (this.state === 'closed') return
    this.release()
    this.socket.emit('disconnect_reason', disconnectReason(spec))
    if (this.socket.connected && !RECONNECT_AFTER.has(spec)) this.socket.disconnect(true)
    else this.socket.conn.close()
  }

  release (): void {
    if (this.state === 'closed') return
    if (this.state === 'admitted') this.registry.settled(this)
    this.state = 'closed'
    this.elevation.end()
    this.ctx.expiries.move(this, this.current.exp, undefined)
    this.ctx.hub.leave(this)
    this.registry.removed(this, this.socket.conn)
    if (this.leasedBy !== undefined) void this.ctx.connectionCounts?.release(this.leasedBy, this.connectionId)
  }

  /**
   * Binary data is refused as on `/ws`. Seen here, at the Engine.IO packet,
   * because Socket.IO would otherwise reassemble a binary event's
   * attachments into Buffers first: 5 and 6 are its binary event and ack.
   */
  private onPacket (packet: EnginePacket): void {
    if (packet.type !== 'message') return
    const { data } = packet
    if (typeof data !== 'string' || data.startsWith('5') || data.startsWith('6')) this.closeWith(Close.binaryNotSupported)
  }

  private onEvent (event: unknown, args: unknown[]): void {
    if (this.state !== 'open') return
    // A bug in one message's handling ends that socket, never the process.
    try {
      if (!this.withinRate()) return
      this.ctx.stats.received()
      const parsed = messageOfEvent(event, args)
      if (parsed.ok) this.ctx.handlers.dispatch(this, parsed.message)
      else this.sendError(parsed.error)
    } catch (err) {
      this.ctx.log.error({ err, connectionId: this.connectionId }, 'socket.io event handler failed')
      this.closeWith(Close.internalError)
    }
  }

  private withinRate (): boolean {
    const verdict = this.rate.check()
    if (verdict === 'close') this.closeWith(Close.rateLimited)
    if (verdict === 'warn') this.sendError({ code: ErrorCode.rateLimited, message: `Over ${this.ctx.config.wsMessagesPerSecond} messages per second; slow down or be disconnected` })
    return verdict === 'ok'
  }
}

import { backoffDelay } from './backoff.js'
import { BEARER_SUBPROTOCOL, closeAction, ErrorCode, isChannelName, ReservedType } from './codes.js'
import { WsgateHttpError } from './http.js'
import { defaultScheduler, defaultWebSocket, MAX_TIMER_MS, type WsgateClientOptions } from './options.js'
import { PresenceRequests } from './presence.js'
import { Subscriptions } from './subscriptions.js'
import type {
  ChannelHandlers, ChannelMember, ChannelState, ChannelSubscription, CloseEventLike, CloseInfo, ConnectionStatus,
  MessageEventLike, ServerMessage, StatusInfo, Scheduler, TokenReason, WebSocketConstructor, WebSocketLike
} from './types.js'

export type { WsgateClientOptions } from './options.js'

const OPEN = 1

/**
 * A wsgate socket that stays connected: reconnects with backoff and full
 * jitter after transient closes, fetches a fresh token after `Token expired`,
 * refreshes in band before expiry, and stops with `needs-login` when the
 * credentials are dead instead of retrying them forever.
 */
export class WsgateClient {
  private socket: WebSocketLike | undefined
  private state: ConnectionStatus = 'idle'
  private attempt = 0
  /** Bumped by connect/disconnect so that late callbacks of an old socket do nothing. */
  private generation = 0
  private cancelReconnect: (() => void) | undefined
  private cancelRefresh: (() => void) | undefined
  private refreshSeq = 0
  private pendingRefresh: string | undefined
  private closeInfo: CloseInfo | undefined
  private expiry: number | null = null
  private connection: string | undefined
  private readonly ctor: WebSocketConstructor
  private readonly schedule: Scheduler
  private readonly subscriptions: Subscriptions
  private readonly presenceRequests: PresenceRequests

  constructor (private readonly options: WsgateClientOptions) {
    if (options.token === undefined && options.getToken === undefined) throw new Error('WsgateClient needs `token` or `getToken`')
    this.ctor = options.WebSocket ?? defaultWebSocket()
    this.schedule = options.schedule ?? defaultScheduler
    const send = (frame: object): boolean => this.send(frame)
    this.subscriptions = new Subscriptions(send)
    this.presenceRequests = new PresenceRequests(send, this.schedule)
  }

  get status (): ConnectionStatus { return this.state }
  get lastClose (): CloseInfo | undefined { return this.closeInfo }
  /** Unix seconds of the current token's expiry, null when it never expires. */
  get expiresAt (): number | null { return this.expiry }
  /** The current socket's `connectionId`, as presence lists it; undefined while not connected. */
  get connectionId (): string | undefined { return this.connection }

  connect (): void {
    if (this.state === 'connecting' || this.state === 'open' || this.state === 'reconnecting') return
    this.attempt = 0
    void this.open('connect')
  }

  disconnect (code = 1000, reason = 'Client closed'): void {
    this.generation++
    this.clearTimers()
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined) socket.close(code, reason)
    this.socketGone()
    this.setStatus('closed', {})
  }

  /** Sends an object as JSON (or a string as is); false when not connected. */
  send (message: object | string): boolean {
    if (this.state !== 'open' || this.socket?.readyState !== OPEN) return false
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
    return true
  }

  ping (): boolean { return this.send({ type: ReservedType.ping }) }
  getStatus (): boolean { return this.send({ type: ReservedType.getStatus }) }

  /**
   * Joins `channel` now or as soon as a socket is open, and again after
   * every reconnect, recovering the messages missed meanwhile; see
   * ChannelHandlers for what is reported. Several subscriptions to one
   * channel share its socket membership.
   */
  subscribe (channel: string, handlers: ChannelHandlers = {}): ChannelSubscription {
    if (!isChannelName(channel)) throw new TypeError(`Not a channel name: ${JSON.stringify(channel)} (1 to 128 of A-Z a-z 0-9 _ . : @ -)`)
    return this.subscriptions.add(channel, handlers)
  }

  /** Leaves `channel` and drops all its handlers. */
  unsubscribe (channel: string): void { this.subscriptions.remove(channel) }
  channel (channel: string): ChannelState | undefined { return this.subscriptions.get(channel) }
  channels (): ChannelState[] { return this.subscriptions.list() }

  /** Who is in `channel`; rejects with WsgateChannelError (`forbidden`, `timeout`, `not_connected`). */
  async presence (channel: string, options: { timeoutMs?: number } = {}): Promise<ChannelMember[]> {
    return await this.presenceRequests.request(channel, options.timeoutMs ?? 10_000)
  }

  private setStatus (status: ConnectionStatus, info: StatusInfo): void {
    this.state = status
    this.options.onStatus?.(status, info)
  }

  private clearTimers (): void {
    this.cancelReconnect?.()
    this.cancelReconnect = undefined
    this.clearRefresh()
  }

  private clearRefresh (): void {
    this.cancelRefresh?.()
    this.cancelRefresh = undefined
  }

  private async token (reason: TokenReason): Promise<string> {
    if (this.options.getToken !== undefined) return await this.options.getToken(reason)
    if (reason === 'expired' || this.options.token === undefined) throw new WsgateHttpError(401, 'invalid_token', 'Token expired and no way to get a new one')
    return this.options.token
  }

  private async open (reason: TokenReason): Promise<void> {
    const generation = ++this.generation
    this.setStatus('connecting', { attempt: this.attempt })
    let token: string
    try {
      token = await this.token(reason)
    } catch (err) {
      if (generation !== this.generation) return
      const message = err instanceof Error ? err.message : String(err)
      if (err instanceof WsgateHttpError && err.needsLogin) this.setStatus('needs-login', { error: message })
      else this.retry(reason === 'expired' ? 'expired' : 'reconnect', { error: message })
      return
    }
    if (generation !== this.generation) return
    const transport = this.options.transport ?? 'subprotocol'
    const url = transport === 'query'
      ? `${this.options.url}${this.options.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`
      : this.options.url
    const socket = transport === 'subprotocol' ? new this.ctor(url, [BEARER_SUBPROTOCOL, token]) : new this.ctor(url)
    this.socket = socket
    const current = (): boolean => generation === this.generation && this.socket === socket
    socket.addEventListener('open', () => {
      if (current() && transport === 'message') socket.send(JSON.stringify({ type: ReservedType.authenticate, token }))
    })
    socket.addEventListener('message', (event) => { if (current()) this.receive(event) })
    socket.addEventListener('close', (event) => { if (current()) this.closed(event) })
    // An error is always followed by a close event, which decides what to do.
    socket.addEventListener('error', () => {})
  }

  private receive (event: MessageEventLike): void {
    if (typeof event.data !== 'string') return
    let message: ServerMessage
    try {
      const value: unknown = JSON.parse(event.data)
      if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') return
      message = value as ServerMessage
    } catch {
      return
    }
    if (message.type === ReservedType.connectionEstablished) {
      this.attempt = 0
      this.expiry = typeof message.expiresAt === 'number' ? message.expiresAt : null
      this.connection = typeof message.connectionId === 'string' ? message.connectionId : undefined
      this.setStatus('open', {})
      this.scheduleRefresh()
      this.subscriptions.opened()
    } else if (message.type === ReservedType.refreshed) {
      const previous = this.expiry
      this.pendingRefresh = undefined
      if (typeof message.expiresAt === 'number') this.expiry = message.expiresAt
      // A refresh that did not move the expiry would re-arm at once, forever.
      if (previous === null || this.expiry === null || this.expiry > previous) this.scheduleRefresh()
    } else if (message.type === ReservedType.error && message.code === ErrorCode.invalidToken && message.requestId === this.pendingRefresh) {
      // Refused: the socket closes with `Token expired` at the old expiry, and the reconnect fetches a token.
      this.pendingRefresh = undefined
    }
    this.options.onMessage?.(message)
    this.subscriptions.receive(message)
    this.presenceRequests.receive(message)
  }

  /** Channels wait for the next socket; requests on this one can get no reply. */
  private socketGone (): void {
    this.connection = undefined
    this.subscriptions.lost()
    this.presenceRequests.lost()
  }

  private closed (event: CloseEventLike): void {
    this.socket = undefined
    this.clearRefresh()
    this.socketGone()
    const close: CloseInfo = { code: event.code, reason: event.reason, action: closeAction(event.code, event.reason), at: Date.now() }
    this.closeInfo = close
    this.options.onClose?.(close)
    switch (close.action) {
      case 'login': this.setStatus('needs-login', { close }); break
      case 'refresh': this.retry('expired', { close }); break
      case 'reconnect': this.retry('reconnect', { close }); break
      case 'stop': this.setStatus('closed', { close }); break
    }
  }

  private retry (reason: TokenReason, info: StatusInfo): void {
    const delayMs = backoffDelay(this.attempt, this.options.backoff, this.options.random)
    this.attempt++
    this.setStatus('reconnecting', { ...info, attempt: this.attempt, delayMs })
    const generation = this.generation
    this.cancelReconnect = this.schedule(() => {
      this.cancelReconnect = undefined
      if (generation === this.generation) void this.open(reason)
    }, delayMs)
  }

  private scheduleRefresh (): void {
    this.clearRefresh()
    const before = this.options.refreshBeforeMs ?? 60_000
    if (before === false || this.options.getToken === undefined || this.expiry === null) return
    const delay = Math.max(0, this.expiry * 1000 - Date.now() - before)
    this.cancelRefresh = this.schedule(() => {
      this.cancelRefresh = undefined
      if (delay > MAX_TIMER_MS) this.scheduleRefresh()
      else void this.refreshInBand()
    }, Math.min(delay, MAX_TIMER_MS))
  }

  private async refreshInBand (): Promise<void> {
    const socket = this.socket
    let token: string
    try {
      token = await this.token('refresh')
    } catch {
      // No fresh token: the socket runs to its expiry; the close decides what comes next.
      return
    }
    if (socket === undefined || socket !== this.socket || this.state !== 'open') return
    this.pendingRefresh = `refresh-${++this.refreshSeq}`
    this.send({ type: ReservedType.refresh, token, requestId: this.pendingRefresh })
  }
}

import { ErrorCode, ReservedType } from './codes.js'
import type { ChannelHandlers, ChannelMember, ChannelState, ChannelSubscription, ServerMessage } from './types.js'

interface Entry {
  readonly channel: string
  status: ChannelState['status']
  /** Where the app's view of the channel stands: the reply's position or the last message delivered, whichever is later. */
  offset: number | undefined
  epoch: string | undefined
  recovered: boolean | undefined
  /** The highest offset handed to the app in this epoch: anything at or below it is a duplicate. */
  delivered: number
  /** The pending subscribe's, to match an error frame that refuses it. */
  requestId: string | undefined
  /** The channel's messages that came before the `subscribed` reply: a replay, live ones, maybe both. */
  buffer: ServerMessage[]
  readonly listeners: Set<ChannelHandlers>
}

const stateOf = (entry: Entry): ChannelState => ({
  channel: entry.channel, status: entry.status, offset: entry.offset, epoch: entry.epoch, recovered: entry.recovered
})

const offsetOf = (message: ServerMessage): number | undefined =>
  typeof message.offset === 'number' && Number.isSafeInteger(message.offset) ? message.offset : undefined

/**
 * The channels the app asked for, kept across reconnects. Each (re)subscribe
 * after the first reply asks the server to recover from the last position;
 * each channel message reaches the app once, in offset order.
 */
export class Subscriptions {
  private readonly entries = new Map<string, Entry>()
  private seq = 0

  /** `send` is false while no socket is open; `opened` sends everything again. */
  constructor (private readonly send: (frame: object) => boolean) {}

  add (channel: string, handlers: ChannelHandlers): ChannelSubscription {
    let entry = this.entries.get(channel)
    if (entry === undefined) {
      entry = { channel, status: 'subscribing', offset: undefined, epoch: undefined, recovered: undefined, delivered: 0, requestId: undefined, buffer: [], listeners: new Set() }
      this.entries.set(channel, entry)
      this.request(entry)
    }
    entry.listeners.add(handlers)
    const current = entry
    return {
      channel,
      get state () { return stateOf(current) },
      unsubscribe: () => { this.remove(channel, handlers) }
    }
  }

  /** Drops one listener, or all of them; the socket leaves the channel with the last. */
  remove (channel: string, handlers?: ChannelHandlers): void {
    const entry = this.entries.get(channel)
    if (entry === undefined) return
    if (handlers !== undefined) entry.listeners.delete(handlers)
    if (handlers !== undefined && entry.listeners.size > 0) return
    this.entries.delete(channel)
    this.send({ type: ReservedType.unsubscribe, channel })
  }

  get (channel: string): ChannelState | undefined {
    const entry = this.entries.get(channel)
    return entry === undefined ? undefined : stateOf(entry)
  }

  list (): ChannelState[] {
    return [...this.entries.values()].map(stateOf)
  }

  /** A new socket is open: every channel again, recovering where a position is known. */
  opened (): void {
    for (const entry of this.entries.values()) this.request(entry)
  }

  /** The socket is gone: every channel waits for the next one. */
  lost (): void {
    for (const entry of this.entries.values()) {
      entry.status = 'subscribing'
      entry.requestId = undefined
      entry.buffer = []
    }
  }

  receive (message: ServerMessage): void {
    const channel = typeof message.channel === 'string' ? message.channel : undefined
    const entry = channel === undefined ? undefined : this.entries.get(channel)
    if (message.type === ReservedType.error) {
      this.refused(message)
      return
    }
    if (entry === undefined) return
    switch (message.type) {
      case ReservedType.subscribed: this.subscribed(entry, message); break
      // Without a reason it answers the app's own unsubscribe, and the entry is already gone or new.
      case ReservedType.unsubscribed: if (typeof message.reason === 'string') this.drop(entry, message.reason, undefined); break
      case ReservedType.join: this.member(entry, message, 'onJoin'); break
      case ReservedType.leave: this.member(entry, message, 'onLeave'); break
      case ReservedType.presence: break
      default:
        if (entry.status === 'subscribing') entry.buffer.push(message)
        else this.deliver(entry, message)
    }
  }

  private request (entry: Entry): void {
    entry.status = 'subscribing'
    entry.buffer = []
    entry.requestId = `sub-${++this.seq}`
    const recover = entry.offset !== undefined && entry.epoch !== undefined ? { offset: entry.offset, epoch: entry.epoch } : undefined
    this.send({ type: ReservedType.subscribe, channel: entry.channel, requestId: entry.requestId, ...(recover !== undefined ? { recover } : {}) })
  }

  private subscribed (entry: Entry, reply: ServerMessage): void {
    if (entry.status === 'subscribed') return
    const offset = offsetOf(reply)
    const epoch = typeof reply.epoch === 'string' ? reply.epoch : undefined
    const recovered = typeof reply.recovered === 'boolean' ? reply.recovered : undefined
    const asked = entry.requestId !== undefined && entry.offset !== undefined && entry.epoch !== undefined
    if (recovered === true) {
      // The replay covers everything after the position asked from; nothing at or below it is new.
      entry.delivered = Math.max(entry.delivered, entry.offset ?? 0)
    } else {
      // A fresh subscription or lost history: offsets start over from this reply's epoch.
      entry.delivered = 0
      entry.offset = undefined
    }
    entry.epoch = epoch
    entry.recovered = recovered
    entry.status = 'subscribed'
    entry.requestId = undefined
    // Live messages may have come before or between the replayed ones: sorted, each once.
    const buffered = entry.buffer.sort((a, b) => (offsetOf(a) ?? 0) - (offsetOf(b) ?? 0))
    entry.buffer = []
    for (const message of buffered) this.deliver(entry, message)
    if (offset !== undefined) entry.offset = Math.max(offset, entry.offset ?? 0)
    const state = stateOf(entry)
    for (const listener of [...entry.listeners]) {
      listener.onSubscribed?.(state)
      if (asked && recovered === false) listener.onRecoveryFailed?.(state)
    }
  }

  private deliver (entry: Entry, message: ServerMessage): void {
    const offset = offsetOf(message)
    if (offset !== undefined) {
      if (offset <= entry.delivered) return
      entry.delivered = offset
      entry.offset = Math.max(offset, entry.offset ?? 0)
    }
    const state = stateOf(entry)
    for (const listener of [...entry.listeners]) listener.onMessage?.(message, state)
  }

  private member (entry: Entry, message: ServerMessage, kind: 'onJoin' | 'onLeave'): void {
    if (typeof message.user !== 'string' || typeof message.connectionId !== 'string') return
    const member: ChannelMember = { user: message.user, connectionId: message.connectionId }
    for (const listener of [...entry.listeners]) listener[kind]?.(member)
  }

  /** An error frame that answers a pending subscribe: the channel is not joined. */
  private refused (error: ServerMessage): void {
    if (typeof error.requestId !== 'string') return
    for (const entry of this.entries.values()) {
      if (entry.requestId !== error.requestId) continue
      const code = typeof error.code === 'string' ? error.code : ErrorCode.invalidMessage
      this.drop(entry, code, typeof error.message === 'string' ? error.message : undefined)
      return
    }
  }

  private drop (entry: Entry, reason: string, message: string | undefined): void {
    this.entries.delete(entry.channel)
    const removal = { channel: entry.channel, reason, ...(message !== undefined ? { message } : {}) }
    for (const listener of [...entry.listeners]) listener.onUnsubscribed?.(removal)
  }
}

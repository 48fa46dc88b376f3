/**
 * The slice of a WebSocket the client uses, satisfied by the browser's
 * WebSocket and by the `ws` package's; listeners are registered through
 * `addEventListener` because its parameters are checked bivariantly, so both
 * implementations' event types fit without casts.
 */
export interface MessageEventLike {
  readonly data: unknown
}

export interface CloseEventLike {
  readonly code: number
  readonly reason: string
}

export interface WebSocketLike {
  readonly readyState: number
  send (data: string): void
  close (code?: number, reason?: string): void
  addEventListener (type: 'open', listener: () => void): void
  addEventListener (type: 'message', listener: (event: MessageEventLike) => void): void
  addEventListener (type: 'close', listener: (event: CloseEventLike) => void): void
  addEventListener (type: 'error', listener: () => void): void
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** How the access token reaches the server (see docs/PROTOCOL.md, Credentials). */
export type Transport = 'query' | 'subprotocol' | 'message'

/** Why the client wants a token: `refresh` and `expired` need a new one, not the cached one. */
export type TokenReason = 'connect' | 'reconnect' | 'refresh' | 'expired'

export type TokenSource = (reason: TokenReason) => string | Promise<string>

/** Runs `task` once after `delayMs` and returns a function that cancels it. */
export type Scheduler = (task: () => void, delayMs: number) => () => void

/** Every server message is a JSON object with a string `type`. */
export interface ServerMessage {
  type: string
  [field: string]: unknown
}

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'needs-login' | 'closed'

export interface CloseInfo {
  code: number
  reason: string
  /** What the client does about it; see codes.ts. */
  action: 'reconnect' | 'refresh' | 'login' | 'stop'
  /** Epoch ms. */
  at: number
}

export interface StatusInfo {
  /** The reconnect attempt about to be made (1 for the first retry). */
  attempt?: number
  /** How long until that attempt, in ms. */
  delayMs?: number
  close?: CloseInfo
  /** Why a token could not be had, when that is what stopped or delayed the client. */
  error?: string
}

/** Where the app's view of a channel stands (see docs/PROTOCOL.md, Channels). */
export interface ChannelState {
  readonly channel: string
  /** `subscribing` until the server's `subscribed` reply, again after every reconnect. */
  readonly status: 'subscribing' | 'subscribed'
  /** The last message's offset, or the reply's position when later; undefined before the first reply or on a server without offsets. */
  readonly offset: number | undefined
  readonly epoch: string | undefined
  /** The last reply's `recovered`: undefined after a fresh subscribe, true or false after a reconnect. */
  readonly recovered: boolean | undefined
}

/** A socket in a channel, as presence and join/leave events name it. */
export interface ChannelMember {
  readonly user: string
  readonly connectionId: string
}

/** Why the client is no longer in a channel it did not leave itself. */
export interface ChannelRemoval {
  readonly channel: string
  /** `forbidden` when the server removed it or refused it; otherwise the error frame's code (e.g. `too_many_subscriptions`). */
  readonly reason: string
  /** The error frame's message, when the subscribe was refused. */
  readonly message?: string
}

export interface ChannelHandlers {
  /** Each message of the channel once, in offset order, replayed ones included. */
  onMessage?: (message: ServerMessage, state: ChannelState) => void
  /** After every `subscribed` reply: the first, and each one after a reconnect. */
  onSubscribed?: (state: ChannelState) => void
  /** A reconnect could not recover the missed messages (history lost or too short): reload the channel's state. */
  onRecoveryFailed?: (state: ChannelState) => void
  /** The server refused the subscribe or removed the socket from the channel; the client forgets the channel. */
  onUnsubscribed?: (removal: ChannelRemoval) => void
  onJoin?: (member: ChannelMember) => void
  onLeave?: (member: ChannelMember) => void
}

export interface ChannelSubscription {
  readonly channel: string
  readonly state: ChannelState
  /** Removes these handlers; the socket leaves the channel when no handlers are left. */
  unsubscribe (): void
}

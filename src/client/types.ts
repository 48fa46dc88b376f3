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

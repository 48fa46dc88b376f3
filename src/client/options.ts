import type { BackoffOptions } from './backoff.js'
import type { CloseInfo, ConnectionStatus, Scheduler, ServerMessage, StatusInfo, TokenSource, Transport, WebSocketConstructor } from './types.js'

export interface WsgateClientOptions {
  /** `ws://host/ws` or `ws://host/admin/ws`. */
  url: string
  /** A fixed token; without `getToken` the client cannot refresh or recover from `Token expired`. */
  token?: string
  /** Preferred: a source that can hand out fresh tokens (TokenSession.getToken). */
  getToken?: TokenSource
  /** Default `subprotocol`, which keeps the token out of URLs and server logs. */
  transport?: Transport
  /** Every frame as it arrives, duplicates included; `subscribe`'s handlers see each channel message once, in order. */
  onMessage?: (message: ServerMessage) => void
  onStatus?: (status: ConnectionStatus, info: StatusInfo) => void
  onClose?: (close: CloseInfo) => void
  /** Defaults to `globalThis.WebSocket`; pass `ws`'s WebSocket in Node 20. */
  WebSocket?: WebSocketConstructor
  /** Send an in-band `refresh` this long before `expiresAt` (default 60 s); false turns it off. */
  refreshBeforeMs?: number | false
  backoff?: BackoffOptions
  /** For tests: the jitter's random source. */
  random?: () => number
  /**
   * For tests: how the client waits for a reconnect or a refresh (setTimeout
   * by default). Apart from its socket's events, everything the client does
   * later starts from one of these, so a test can see that a stopped client
   * has nothing left to do.
   */
  schedule?: Scheduler
}

/** setTimeout's ceiling; a later refresh is re-armed when the timer fires. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export const defaultScheduler: Scheduler = (task, delayMs) => {
  const timer = setTimeout(task, delayMs)
  return () => { clearTimeout(timer) }
}

export function defaultWebSocket (): WebSocketConstructor {
  const ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (ctor === undefined) throw new Error('No global WebSocket: pass the `WebSocket` option (e.g. from the ws package)')
  return ctor
}

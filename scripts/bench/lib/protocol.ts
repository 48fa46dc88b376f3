import type { HistogramJson } from './stats.js'

/**
 * Runner ⇄ load-generator messages over the Node IPC channel. A request
 * carries an id and gets exactly one reply; `watermark` goes both ways
 * without a reply (workers report progress, the runner relays the minimum to
 * the publisher for flow control).
 */

/** `ws`: one JSON text frame per message (raw ws, wsgate). `sio`: Socket.IO 4 packets. */
export type ClientKind = 'ws' | 'sio'

export interface Target {
  readonly kind: ClientKind
  /** Full socket URL; for `ws` it carries `?token=`. */
  readonly url: string
  /** Sent in the Socket.IO CONNECT packet (`auth.token`). */
  readonly token: string
  /** The `user` the server is expected to stamp. */
  readonly user: string
}

export interface ConnectArgs {
  readonly target: Target
  readonly count: number
  readonly concurrency: number
  readonly group: string
  readonly timeoutMs: number
}

export interface ConnectResult {
  readonly opened: number
  readonly failed: number
  readonly startUs: number
  readonly endUs: number
  /** Why sockets failed, e.g. `close 1013 Too many connections`, with counts. */
  readonly failures: Readonly<Record<string, number>>
  readonly openNow: number
}

export interface CloseArgs {
  /** Only this group; all sockets when absent. */
  readonly group?: string
}

export interface CloseResult {
  readonly closed: number
}

export interface TrackArgs {
  readonly phase: number
  /** Message size the publisher uses, to check the payload came through intact. */
  readonly size: number
  /**
   * Publisher sockets the messages come through (default 1). Message `seq`
   * goes out on socket `seq % lanes`; order is checked within each lane, since
   * two servers may deliver each other's messages a little late.
   */
  readonly lanes?: number
  /** Only sockets subscribed to this channel take part (all open sockets when absent). */
  readonly channel?: string
}

export interface TrackResult {
  readonly tracked: number
}

export interface CollectArgs {
  readonly phase: number
  /** Messages the publisher sent in this phase: each tracked socket should have all of them. */
  readonly sent: number
}

export interface CollectResult {
  readonly sockets: number
  readonly received: number
  readonly lost: number
  readonly duplicates: number
  readonly invalid: number
  readonly firstProblem: string | undefined
  readonly latencyUs: HistogramJson
  readonly lastReceiveUs: number
  /** Sockets of this worker the server closed during the phase, by reason. */
  readonly closedDuring: Readonly<Record<string, number>>
}

export interface PublishArgs {
  readonly phase: number
  /** Publishes through every open socket of this group in turn (see TrackArgs.lanes). */
  readonly group: string
  /** `rate`: a fixed number of messages per second; `window`: as fast as the slowest subscriber allows. */
  readonly mode: 'rate' | 'window'
  readonly rate: number
  readonly window: number
  readonly durationMs: number
  readonly size: number
  /** The channel each message names (none: wsgate's `global`). */
  readonly channel?: string
  /** Stop after this many messages, even before durationMs. */
  readonly count?: number
}

export interface PublishResult {
  readonly sent: number
  /** Sockets the messages went out on. */
  readonly lanes: number
  readonly startUs: number
  readonly endUs: number
}

export interface SubscribeArgs {
  readonly group: string
  /** Channels every socket of the group joins. */
  readonly every: readonly string[]
  /**
   * And `perSocket` channels of `spread` each: this worker's socket j takes
   * the ones from index `start + j·perSocket` on, wrapping round, so that the
   * runner can spread every worker's sockets evenly over the list.
   */
  readonly spread: readonly string[]
  readonly perSocket: number
  readonly start: number
  readonly timeoutMs: number
}

export interface ChannelPositionJson {
  readonly offset: number
  readonly epoch: string
}

export interface SubscribeResult {
  readonly sockets: number
  /** `subscribed` replies received. */
  readonly subscribed: number
  /** Why subscribes failed (an error frame's code, a timeout), with counts. */
  readonly failures: Readonly<Record<string, number>>
  /** The position of each channel, from the last `subscribed` reply seen for it. */
  readonly positions: Readonly<Record<string, ChannelPositionJson>>
}

export interface RecoverArgs {
  readonly group: string
  readonly channel: string
  /** Where every socket of the group left off. */
  readonly from: ChannelPositionJson
  /** Messages each socket should get back: offsets from.offset + 1 … from.offset + expect. */
  readonly expect: number
  readonly timeoutMs: number
}

export interface RecoverResult {
  readonly sockets: number
  /** Sockets whose reply said `recovered: true` after exactly the expected messages, in order. */
  readonly recovered: number
  readonly frames: number
  /** What went wrong with the others, with counts. */
  readonly failures: Readonly<Record<string, number>>
  /** The first subscribe sent and the last reply received. */
  readonly startUs: number
  readonly endUs: number
}

export interface HttpArgs {
  readonly url: string
  readonly body: string
  readonly contentType: string
  readonly concurrency: number
  readonly durationMs: number
}

export interface HttpResult {
  readonly requests: number
  readonly statuses: Readonly<Record<string, number>>
  readonly startUs: number
  readonly endUs: number
  readonly latencyUs: HistogramJson
}

export interface Requests {
  connect: { args: ConnectArgs, result: ConnectResult }
  close: { args: CloseArgs, result: CloseResult }
  track: { args: TrackArgs, result: TrackResult }
  collect: { args: CollectArgs, result: CollectResult }
  publish: { args: PublishArgs, result: PublishResult }
  http: { args: HttpArgs, result: HttpResult }
  subscribe: { args: SubscribeArgs, result: SubscribeResult }
  recover: { args: RecoverArgs, result: RecoverResult }
}

export type Op = keyof Requests

export type RequestMessage = {
  [K in Op]: { readonly type: 'request', readonly id: number, readonly op: K, readonly args: Requests[K]['args'] }
}[Op]

export interface WatermarkMessage {
  readonly type: 'watermark'
  readonly phase: number
  readonly value: number
}

export type RunnerToWorker = RequestMessage | WatermarkMessage | { readonly type: 'exit' }

export type WorkerToRunner =
  | { readonly type: 'ready' }
  | { readonly type: 'reply', readonly id: number, readonly ok: true, readonly result: unknown }
  | { readonly type: 'reply', readonly id: number, readonly ok: false, readonly error: string }
  | WatermarkMessage

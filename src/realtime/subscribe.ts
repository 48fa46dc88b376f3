import type { FastifyBaseLogger } from 'fastify'
import type { ChannelLog, ChannelPosition, Recovery } from '../channels/history.js'
import { isOffset } from '../channels/history.js'
import type { ChannelPolicy } from '../channels/policy.js'
import { ErrorCode, isChannelName, ReservedType } from '../protocol/index.js'
import type { ChannelPresence } from './channel-presence.js'
import { encodeTextFrame } from './frame.js'
import type { MessageHandler, SocketView } from './handlers.js'
import type { ClientMessage } from './messages.js'

export interface SubscribeDeps {
  readonly policy: ChannelPolicy
  readonly channelLog: ChannelLog
  readonly presence: ChannelPresence
  readonly log: FastifyBaseLogger
}

const MAX_EPOCH_LENGTH = 64
const CHANNEL_RULE = 'subscribe and unsubscribe need a "channel" of 1 to 128 letters, digits or _.:@-'

/** `recover` as the client sent it: absent, well formed, or not usable. */
function recoverFrom (value: unknown): ChannelPosition | undefined | 'invalid' {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid'
  const { offset, epoch } = value as Record<string, unknown>
  if (typeof offset !== 'number' || !isOffset(offset) || typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH) return 'invalid'
  return { offset, epoch }
}

/** The offset a channel frame ends with (the log appends it last); undefined for join/leave frames. */
function offsetOf (frame: string): number | undefined {
  const match = /"offset":(\d+)\}$/.exec(frame)
  return match === null ? undefined : Number(match[1])
}

function withRequestId (message: ClientMessage): { requestId?: string } {
  return typeof message.requestId === 'string' ? { requestId: message.requestId } : {}
}

export function subscribeHandler (deps: SubscribeDeps): MessageHandler {
  return (conn, message) => {
    subscribe(deps, conn, message).catch((err: unknown) => {
      deps.log.error({ err, connectionId: conn.connectionId }, 'subscribe failed')
      conn.channels.release(String(message.channel))
    })
  }
}

/**
 * `subscribe`, with or without `recover`: the policy first, then the
 * channel is joined on hold, its position (or the missed messages) read,
 * the replay sent, `subscribed` sent, and what arrived meanwhile delivered
 * after it, without what the replay already covered.
 */
async function subscribe (deps: SubscribeDeps, conn: SocketView, message: ClientMessage): Promise<void> {
  const { channel } = message
  if (!isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: CHANNEL_RULE }, message.requestId)
    return
  }
  const recover = recoverFrom(message.recover)
  if (recover === 'invalid') {
    conn.sendError({ code: ErrorCode.invalidMessage, message: `"recover" needs {"offset": a whole number from 0, "epoch": a string of at most ${MAX_EPOCH_LENGTH} characters}` }, message.requestId)
    return
  }
  const principal = conn.principal
  if (principal === undefined) return
  const refused = deps.policy.subscribeRefusal(principal, channel)
  if (refused !== undefined) {
    conn.sendError({ code: ErrorCode.forbidden, message: refused }, message.requestId)
    return
  }
  // Already in it: messages flow directly, so nothing can be replayed without doubling them.
  const already = conn.channels.has(channel)
  if (!conn.channels.hold(channel)) {
    conn.sendError({ code: ErrorCode.tooManySubscriptions, message: `A socket may be in at most ${conn.channels.limit} channels, global included; unsubscribe from one first` }, message.requestId)
    return
  }
  const outcome: Recovery = recover !== undefined && !already
    ? await deps.channelLog.recover(channel, recover)
    : { recovered: false, position: await deps.channelLog.position(channel) }
  // Closed, or unsubscribed, while the log answered.
  if (!conn.isOpen || !conn.channels.has(channel)) return
  if (outcome.recovered) for (const frame of outcome.frames) conn.sendFrame(encodeTextFrame(frame))
  const { offset, epoch } = outcome.position
  conn.send({ type: ReservedType.subscribed, channel, offset, epoch, ...(recover !== undefined ? { recovered: outcome.recovered } : {}), ...withRequestId(message) })
  for (const frame of conn.channels.release(channel)) {
    const at = offsetOf(frame)
    if (at === undefined || at > offset) conn.sendFrame(encodeTextFrame(frame))
  }
  if (!already) deps.presence.joined(conn, channel)
}

export function unsubscribeHandler (): MessageHandler {
  return (conn, message) => {
    const { channel } = message
    if (!isChannelName(channel)) {
      conn.sendError({ code: ErrorCode.invalidMessage, message: CHANNEL_RULE }, message.requestId)
      return
    }
    conn.channels.leave(channel)
    conn.send({ type: ReservedType.unsubscribed, channel, ...withRequestId(message) })
  }
}

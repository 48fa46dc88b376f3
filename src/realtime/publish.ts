import type { ChannelLog, ChannelPosition } from '../channels/history.js'
import type { ChannelPolicy, Caller, PublishVia } from '../channels/policy.js'
import { channelOf, checkMessage, stamp, type MessageError, type StampedMessage } from './messages.js'
import { ErrorCode, isReservedType } from '../protocol/index.js'

export type PublishResult =
  | { readonly ok: true, readonly message: StampedMessage, readonly channel: string, readonly position: Promise<ChannelPosition> }
  | { readonly ok: false, readonly error: MessageError }

/** Who publishes, and how: a socket (with its channels) or the server (`POST /messages`). */
export interface Publisher {
  readonly sender: Caller
  readonly via: PublishVia
  /** The publishing socket's channels; absent for the server. */
  readonly channels?: { has: (channel: string) => boolean }
}

/**
 * The one way a message enters the hub, from a socket or from
 * `POST /messages`: checked, allowed by the channel policy, stamped,
 * serialized once, and handed to the channel's log, which gives it the
 * channel's next offset and fans it out.
 */
export function publishMessage (log: ChannelLog, policy: ChannelPolicy, value: unknown, from: Publisher): PublishResult {
  const checked = checkMessage(value)
  if (!checked.ok) return checked
  const message = checked.message
  if (isReservedType(message.type)) {
    return { ok: false, error: { code: ErrorCode.unsupportedType, message: `"${message.type}" is reserved and cannot be sent here` } }
  }
  const channel = channelOf(message)
  if (channel === undefined) return { ok: false, error: { code: ErrorCode.invalidMessage, message: 'Invalid "channel": 1 to 128 letters, digits or _.:@-' } }
  const refused = policy.publishRefusal(from.sender, channel, from.via, from.channels?.has(channel) ?? false)
  if (refused !== undefined) return { ok: false, error: { code: ErrorCode.forbidden, message: refused } }
  const stamped = stamp(message, from.sender.username)
  // A publisher never waits on fan-out: the in-process log delivers at once,
  // and the Redis one delivers locally by itself when Redis cannot be reached.
  const position = log.publish(channel, JSON.stringify(stamped), policy.options(channel).history)
  return { ok: true, message: stamped, channel, position }
}

import type { Broker } from '../broker/broker.js'
import { channelOf, checkMessage, stamp, type MessageError, type StampedMessage } from './messages.js'
import { ErrorCode, isReservedType } from '../protocol/index.js'

export type PublishResult =
  | { readonly ok: true, readonly message: StampedMessage, readonly channel: string }
  | { readonly ok: false, readonly error: MessageError }

/**
 * The one way a message enters the hub, from a socket or from
 * `POST /messages`: checked, stamped, serialized once, handed to the broker.
 * `allowedChannels` is the sender's subscriptions; undefined allows any.
 */
export function publishMessage (broker: Broker, value: unknown, user: string, allowedChannels?: { has: (channel: string) => boolean }): PublishResult {
  const checked = checkMessage(value)
  if (!checked.ok) return checked
  const message = checked.message
  if (isReservedType(message.type)) {
    return { ok: false, error: { code: ErrorCode.unsupportedType, message: `"${message.type}" is reserved and cannot be sent here` } }
  }
  const channel = channelOf(message)
  if (channel === undefined) return { ok: false, error: { code: ErrorCode.invalidMessage, message: 'Invalid "channel"' } }
  if (allowedChannels !== undefined && !allowedChannels.has(channel)) {
    return { ok: false, error: { code: ErrorCode.forbidden, message: `Not subscribed to channel "${channel}"` } }
  }
  const stamped = stamp(message, user)
  // Fire and forget: the in-process broker delivers synchronously, and a
  // remote one reports its own failures; a publisher never waits on fan-out.
  void broker.publish({ kind: 'broadcast', channel, frame: JSON.stringify(stamped) })
  return { ok: true, message: stamped, channel }
}

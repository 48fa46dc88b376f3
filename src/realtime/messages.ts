import { randomUUID } from 'node:crypto'
import type { RawData } from 'ws'
import { ErrorCode, type ErrorCodeValue, GLOBAL_CHANNEL, isChannelName } from '../protocol/index.js'

/** A client message after parsing: a JSON object with a string `type`. */
export interface ClientMessage {
  type: string
  channel?: unknown
  [field: string]: unknown
}

/** A message as it is fanned out: the three server fields always present. */
export interface StampedMessage extends ClientMessage {
  user: string
  timestamp: number
  requestId: string
}

export interface MessageError {
  readonly code: ErrorCodeValue
  readonly message: string
}

export type ParseResult =
  | { readonly ok: true, readonly message: ClientMessage }
  | { readonly ok: false, readonly error: MessageError }

const MAX_TYPE_LENGTH = 100

/** A text frame's payload, however ws delivered it. */
export function textOf (data: RawData): string {
  return Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as Buffer).toString()
}

export function parseClientMessage (text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, error: { code: ErrorCode.invalidJson, message: 'Message is not valid JSON' } }
  }
  return checkMessage(value)
}

/** Shared by the socket and `POST /messages`, so both accept the same shapes. */
export function checkMessage (value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: { code: ErrorCode.invalidMessage, message: 'Message must be a JSON object' } }
  }
  const message = value as Record<string, unknown>
  if (typeof message.type !== 'string' || message.type === '' || message.type.length > MAX_TYPE_LENGTH) {
    return { ok: false, error: { code: ErrorCode.invalidMessage, message: `Message needs a string "type" of 1 to ${MAX_TYPE_LENGTH} characters` } }
  }
  return { ok: true, message: message as ClientMessage }
}

/** The channel a message targets, or undefined when its `channel` field is unusable. */
export function channelOf (message: ClientMessage): string | undefined {
  const { channel } = message
  if (channel === undefined) return GLOBAL_CHANNEL
  return isChannelName(channel) ? channel : undefined
}

/**
 * Sets the server's fields, overwriting whatever the client sent under those
 * names (`channel` and `offset` are the log's to add). The timestamp is Unix seconds with a millisecond fraction, as the
 * original Python server sent it.
 */
export function stamp (message: ClientMessage, user: string): StampedMessage {
  // The channel's log appends `channel` and `offset` to the serialized frame.
  delete message.channel
  delete message.offset
  const stamped = message as StampedMessage
  stamped.user = user
  stamped.timestamp = Date.now() / 1000
  stamped.requestId = randomUUID()
  return stamped
}

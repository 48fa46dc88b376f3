import { encodeTextFrame, type EncodedFrame } from '../realtime/frame.js'
import { checkMessage, parseClientMessage, type ParseResult } from '../realtime/messages.js'
import { ErrorCode } from '../protocol/index.js'

/**
 * A channel message as a Socket.IO `message` event: the Socket.IO packet
 * text, and for the websocket transport the whole WebSocket frame of its
 * Engine.IO packet. `wsPreEncodedFrame` is the option Socket.IO's own
 * adapters hand to Engine.IO for a broadcast: Engine.IO writes the frame as
 * it is and skips encoding it per socket.
 */
export interface MessagePacket {
  readonly text: string
  readonly options: { compress?: boolean, readonly wsPreEncodedFrame: Buffer[] }
}

// One per broadcast, built by the first Socket.IO socket that receives it and gone with the frame.
const packets = new WeakMap<EncodedFrame, MessagePacket>()

/**
 * `frame.text` is the server's own JSON, so it goes into the packet as it
 * is: `2["message",<text>]` is what Socket.IO's encoder makes of
 * `emit('message', object)` in the main namespace (2 = EVENT), without
 * parsing and serializing the message again per socket.
 */
export function messagePacketOf (frame: EncodedFrame): MessagePacket {
  let packet = packets.get(frame)
  if (packet === undefined) {
    const text = `2["message",${frame.text}]`
    // 4 = an Engine.IO message packet.
    packet = { text, options: { wsPreEncodedFrame: [encodeTextFrame(`4${text}`).wire] } }
    packets.set(frame, packet)
  }
  return packet
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const ONE_OBJECT = 'A Socket.IO event carries one JSON object, or nothing; its name is the message type'

/**
 * A received event as a wsgate message. `message` carries the whole
 * message (an object with its `type`, or that object as JSON text); any
 * other event stands for its `type` and its one object argument for the
 * rest (`emit('admin_auth', { token })` is `{"type":"admin_auth","token":…}`),
 * the event name winning over a `type` field in it. An acknowledgement
 * callback, if the client asked for one, is never called: replies are events.
 */
export function messageOfEvent (event: unknown, args: readonly unknown[]): ParseResult {
  const payload = typeof args[args.length - 1] === 'function' ? args.slice(0, -1) : args
  if (typeof event !== 'string') return { ok: false, error: { code: ErrorCode.invalidMessage, message: 'Event names are strings' } }
  if (event === 'message') {
    const [value] = payload
    if (payload.length !== 1) return { ok: false, error: { code: ErrorCode.invalidMessage, message: 'A "message" event carries one message' } }
    return typeof value === 'string' ? parseClientMessage(value) : checkMessage(value)
  }
  if (payload.length === 0) return checkMessage({ type: event })
  const [value] = payload
  if (payload.length > 1 || !isPlainObject(value)) return { ok: false, error: { code: ErrorCode.invalidMessage, message: ONE_OBJECT } }
  const message: Record<string, unknown> = { type: event, ...value }
  message.type = event
  return checkMessage(message)
}

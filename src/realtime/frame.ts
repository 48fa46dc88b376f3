import type { WebSocket } from 'ws'

/** A broadcast serialized once: the JSON text, and the whole WebSocket frame as bytes. */
export interface EncodedFrame {
  readonly text: string
  readonly wire: Buffer
}

/**
 * Frames a text message once (RFC 6455 §5.2: FIN + text opcode, unmasked as
 * server frames are) so that a broadcast to N sockets costs one UTF-8
 * encoding and one header instead of N of each.
 */
export function encodeTextFrame (text: string): EncodedFrame {
  const payload = Buffer.from(text)
  const length = payload.length
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10
  const wire = Buffer.allocUnsafe(headerLength + length)
  wire[0] = 0x81
  if (length < 126) {
    wire[1] = length
  } else if (length < 65536) {
    wire[1] = 126
    wire.writeUInt16BE(length, 2)
  } else {
    wire[1] = 127
    wire.writeBigUInt64BE(BigInt(length), 2)
  }
  payload.copy(wire, headerLength)
  return { text, wire }
}

interface Corkable {
  cork: () => void
  uncork: () => void
}

/** ws's write path for an already-framed message; engine.io (Socket.IO) uses the same one. */
interface FrameSender {
  _sender: { sendFrame: (list: Buffer[], cb?: (err?: Error) => void) => void }
  _socket: Corkable | null
}

// Sockets corked during this turn of the event loop, uncorked together at its end.
const corked = new Set<Corkable>()
function uncorkAll (): void {
  for (const tcp of corked) tcp.uncork()
  corked.clear()
}

/**
 * Writes a pre-encoded frame. The socket stays corked until the end of this
 * turn of the event loop, so a burst of broadcasts leaves as one write per
 * socket instead of one syscall per message. Only valid without
 * permessage-deflate: with it, ws may hold compressed messages in a queue
 * that a direct write would overtake.
 */
export function writeEncoded (socket: WebSocket, frame: EncodedFrame): void {
  const ws = socket as unknown as FrameSender
  const tcp = ws._socket
  if (tcp !== null && !corked.has(tcp)) {
    if (corked.size === 0) setImmediate(uncorkAll)
    tcp.cork()
    corked.add(tcp)
  }
  ws._sender.sendFrame([frame.wire])
}

/**
 * Sends a broadcast frame to one socket, unless that socket's unsent buffer
 * is over `maxBuffered`: a client that does not read would otherwise grow it
 * without bound ('slow': the caller closes it). With permessage-deflate the
 * frame goes through ws, which compresses it.
 */
export function sendEncoded (socket: WebSocket, frame: EncodedFrame, maxBuffered: number, deflate: boolean): 'sent' | 'closed' | 'slow' {
  if (socket.readyState !== socket.OPEN) return 'closed'
  if (socket.bufferedAmount > maxBuffered) return 'slow'
  if (deflate) socket.send(frame.text)
  else writeEncoded(socket, frame)
  return 'sent'
}

import type { Principal } from '../auth/principal.js'
import { isReservedType, type CloseSpec, type ReservedTypeName } from '../protocol/index.js'
import type { Elevation } from './elevation.js'
import type { EncodedFrame } from './frame.js'
import type { Membership } from './membership.js'
import type { ClientMessage, MessageError } from './messages.js'

/** What a message handler sees of an open socket: realtime's Connection, narrowed. */
export interface SocketView {
  readonly connectionId: string
  readonly username: string
  readonly principal: Principal | undefined
  readonly ip: string
  readonly userAgent: string | null
  /** False once the socket closed: a handler that awaited something checks it before acting. */
  readonly isOpen: boolean
  readonly elevation: Elevation
  readonly channels: Membership
  send (message: object): void
  /** Writes a frame as it is (a channel message, already serialized). */
  sendFrame (frame: EncodedFrame): void
  sendError (error: MessageError, requestId?: unknown): void
  /** Moves the socket to a new token of the same user (in-band refresh). */
  renew (principal: Principal): void
  closeWith (spec: CloseSpec): void
}

export type MessageHandler = (conn: SocketView, message: ClientMessage) => void

/**
 * Routes each message of an open socket by its type. Realtime registers its
 * own types and feature plugins theirs (admin: `admin_auth`, `admin_command`,
 * `get_stats`), so realtime imports none of them. Only reserved types have
 * handlers; any other type is a message for a channel and goes to `fallback`,
 * which publishes it (and refuses a reserved type that nothing handles).
 */
export class MessageHandlers {
  private readonly table = new Map<string, MessageHandler>()

  constructor (private readonly fallback: MessageHandler) {}

  register (type: ReservedTypeName, handler: MessageHandler): void {
    if (!isReservedType(type)) throw new Error(`"${String(type)}" is not a reserved type, so it cannot have a handler`)
    if (this.table.has(type)) throw new Error(`A handler for "${type}" is already registered`)
    this.table.set(type, handler)
  }

  dispatch (conn: SocketView, message: ClientMessage): void {
    const handler = this.table.get(message.type) ?? this.fallback
    handler(conn, message)
  }
}

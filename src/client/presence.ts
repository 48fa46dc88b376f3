import { ReservedType } from './codes.js'
import type { ChannelMember, Scheduler, ServerMessage } from './types.js'

/** A refused or unanswered channel request: `code` is the error frame's (e.g. `forbidden`), `timeout` or `not_connected`. */
export class WsgateChannelError extends Error {
  constructor (readonly code: string, message: string, readonly channel: string) {
    super(message)
    this.name = 'WsgateChannelError'
  }
}

interface Pending {
  readonly channel: string
  readonly resolve: (members: ChannelMember[]) => void
  readonly reject: (err: WsgateChannelError) => void
  readonly cancelTimeout: () => void
}

function membersOf (value: unknown): ChannelMember[] {
  if (!Array.isArray(value)) return []
  return value.filter((entry): entry is ChannelMember =>
    typeof entry === 'object' && entry !== null &&
    typeof (entry as { user?: unknown }).user === 'string' &&
    typeof (entry as { connectionId?: unknown }).connectionId === 'string')
    .map(({ user, connectionId }) => ({ user, connectionId }))
}

/**
 * `presence` requests in flight. The server answers a socket's messages in
 * order, so a reply without a `requestId` belongs to the oldest request for
 * its channel; an error frame is matched by the `requestId` it echoes.
 */
export class PresenceRequests {
  private readonly pending = new Map<string, Pending>()
  private seq = 0

  constructor (private readonly send: (frame: object) => boolean, private readonly schedule: Scheduler) {}

  async request (channel: string, timeoutMs: number): Promise<ChannelMember[]> {
    const requestId = `presence-${++this.seq}`
    return await new Promise((resolve, reject) => {
      if (!this.send({ type: ReservedType.presence, channel, requestId })) {
        reject(new WsgateChannelError('not_connected', 'Not connected', channel))
        return
      }
      const cancelTimeout = this.schedule(() => {
        this.pending.delete(requestId)
        reject(new WsgateChannelError('timeout', `No presence reply within ${timeoutMs} ms`, channel))
      }, timeoutMs)
      this.pending.set(requestId, { channel, resolve, reject, cancelTimeout })
    })
  }

  receive (message: ServerMessage): void {
    if (message.type === ReservedType.presence) {
      const id = typeof message.requestId === 'string' && this.pending.has(message.requestId)
        ? message.requestId
        : [...this.pending].find(([, p]) => p.channel === message.channel)?.[0]
      this.settle(id)?.resolve(membersOf(message.clients))
    } else if (message.type === ReservedType.error && typeof message.requestId === 'string') {
      const request = this.settle(message.requestId)
      const text = typeof message.message === 'string' ? message.message : 'Refused'
      if (request !== undefined) request.reject(new WsgateChannelError(String(message.code), text, request.channel))
    }
  }

  /** The socket closed: no reply can come on it. */
  lost (): void {
    for (const id of [...this.pending.keys()]) {
      const request = this.settle(id)
      request?.reject(new WsgateChannelError('not_connected', 'The connection closed before the reply', request.channel))
    }
  }

  private settle (requestId: string | undefined): Pending | undefined {
    if (requestId === undefined) return undefined
    const request = this.pending.get(requestId)
    if (request === undefined) return undefined
    this.pending.delete(requestId)
    request.cancelTimeout()
    return request
  }
}

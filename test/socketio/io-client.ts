import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client'
import type { Json } from '../ws-client.js'
import { Inbox, within } from '../inbox.js'

export type IoOptions = Partial<ManagerOptions & SocketOptions>

/** A refusal as socket.io-client reports it: the `/ws` close reason, and the machine code in `data`. */
export interface ConnectError {
  readonly message: string
  readonly data?: { readonly code?: string, readonly closeCode?: number }
}

/** One event the server sent: its name and its first argument. */
export interface IoEvent {
  readonly event: string
  readonly payload: Json
}

// Each test client is on its own: no shared Manager, no reconnection unless a test asks for it.
const DEFAULTS: IoOptions = { forceNew: true, reconnection: false, transports: ['websocket'] }

/**
 * A socket.io-client socket that queues every event it receives, so a test
 * can await the next one (or the disconnect) without racing the handlers.
 */
export class IoTestClient {
  /** The reason socket.io-client gives for the disconnect. */
  readonly disconnected: Promise<string>
  private readonly inbox = new Inbox<IoEvent>('event')

  private constructor (readonly socket: Socket) {
    socket.onAny((event: string, payload: Json) => {
      this.inbox.push({ event, payload })
    })
    this.disconnected = new Promise((resolve) => { socket.on('disconnect', (reason) => { resolve(reason) }) })
  }

  /** Connects and waits for `connection_established`; rejects with the connect_error. */
  static async connect (url: string, options: IoOptions = {}): Promise<IoTestClient> {
    return await IoTestClient.of(io(url, { ...DEFAULTS, ...options }))
  }

  /** Takes a socket made by the test itself, as an application makes it, and waits as `connect` does. */
  static async of (socket: Socket): Promise<IoTestClient> {
    const client = new IoTestClient(socket)
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', () => { resolve() })
      client.socket.once('connect_error', (err) => {
        client.close()
        reject(err)
      })
    })
    const first = await client.next()
    if (first.event !== 'connection_established') throw new Error(`expected connection_established, got ${JSON.stringify(first)}`)
    return client
  }

  /** Connects expecting a refusal; resolves with the connect_error, rejects if the socket connects. */
  static async refused (url: string, options: IoOptions = {}): Promise<ConnectError> {
    const socket = io(url, { ...DEFAULTS, ...options })
    try {
      return await new Promise<ConnectError>((resolve, reject) => {
        socket.once('connect', () => { reject(new Error('connected; expected connect_error')) })
        socket.once('connect_error', (err: Error & { data?: ConnectError['data'] }) => { resolve({ message: err.message, data: err.data }) })
      })
    } finally {
      socket.close()
    }
  }

  /** Received and not read yet. */
  get received (): IoEvent[] { return this.inbox.unread }

  emit (event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args)
  }

  async next (timeoutMs = 3000): Promise<IoEvent> {
    return await this.inbox.next(timeoutMs)
  }

  /** The payload of the next event named `event`, skipping others (they are dropped). */
  async nextOf (event: string, timeoutMs = 3000): Promise<Json> {
    return (await this.inbox.upTo((item) => item.event === event, timeoutMs)).found.payload
  }

  /** Everything received before the first event matching `marker` (consumed). */
  async until (marker: (item: IoEvent) => boolean, timeoutMs = 3000): Promise<IoEvent[]> {
    return (await this.inbox.upTo(marker, timeoutMs)).before
  }

  /** Sends a `ping` and returns every event that arrived before its `pong`. */
  async receivedBeforePong (timeoutMs = 3000): Promise<IoEvent[]> {
    this.emit('ping')
    return await this.until((item) => item.event === 'pong', timeoutMs)
  }

  close (): void {
    this.socket.close()
  }
}

/** Resolves with the disconnect reason, or rejects if the socket stays connected past the timeout. */
export async function disconnectedWithin (client: IoTestClient, timeoutMs = 3000): Promise<string> {
  return await within(client.disconnected, timeoutMs, 'socket still connected')
}

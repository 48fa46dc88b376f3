import WebSocket from 'ws'
import { Inbox, within } from './inbox.js'

export type Json = Record<string, unknown>

export interface Closed {
  code: number
  reason: string
}

/**
 * A `ws` client that queues what it receives, so a test can await the next
 * message or the close without racing the event handlers.
 */
export class TestSocket {
  readonly closed: Promise<Closed>
  private readonly inbox = new Inbox<Json>('message')

  private constructor (readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()) as Json)
    })
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
    })
  }

  /** Resolves once the handshake completes (rejections still complete it, then close). */
  static async open (url: string, options: { protocols?: string[], headers?: Record<string, string> } = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, options.protocols, { headers: options.headers })
    const socket = new TestSocket(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    })
    return socket
  }

  /** Opens a socket and waits for `connection_established`. */
  static async connect (url: string, options: { protocols?: string[], headers?: Record<string, string> } = {}): Promise<TestSocket> {
    const socket = await TestSocket.open(url, options)
    const first = await socket.next()
    if (first.type !== 'connection_established') throw new Error(`expected connection_established, got ${JSON.stringify(first)}`)
    return socket
  }

  /** Received and not read yet. */
  get received (): Json[] { return this.inbox.unread }

  send (message: Json | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  async next (timeoutMs = 3000): Promise<Json> {
    return await this.inbox.next(timeoutMs)
  }

  /** The next message of a type, skipping others (they are dropped). */
  async nextOfType (type: string, timeoutMs = 3000): Promise<Json> {
    return (await this.inbox.upTo((m) => m.type === type, timeoutMs)).found
  }

  /**
   * Everything that arrives before the first message matching `marker`
   * (which is consumed). Proves "nothing else arrived" without waiting for a
   * while: send something whose answer must come after, then read up to it.
   */
  async until (marker: (message: Json) => boolean, timeoutMs = 3000): Promise<Json[]> {
    return (await this.upTo(marker, timeoutMs)).before
  }

  /** As `until`, and the marker message itself. */
  async upTo (marker: (message: Json) => boolean, timeoutMs = 3000): Promise<{ before: Json[], found: Json }> {
    return await this.inbox.upTo(marker, timeoutMs)
  }

  /** Sends a `ping` and returns everything that arrived before its `pong`. */
  async receivedBeforePong (timeoutMs = 3000): Promise<Json[]> {
    this.send({ type: 'ping' })
    return await this.until((m) => m.type === 'pong', timeoutMs)
  }

  close (): void {
    this.ws.close()
  }
}

/** Resolves with the close, or rejects if the socket stays open past the timeout. */
export async function closedWithin (socket: TestSocket, timeoutMs = 3000): Promise<Closed> {
  return await within(socket.closed, timeoutMs, 'socket still open')
}

import WebSocket from 'ws'
import { Inbox, within } from '../inbox.js'

/**
 * A bare Engine.IO 4 websocket, to send what socket.io-client never would:
 * malformed packets, binary frames, duplicate query parameters. Answers the
 * server's pings so that only the test decides when it closes.
 */
export class RawEngineSocket {
  readonly closed: Promise<number>
  private readonly inbox = new Inbox<string>('packet')

  private constructor (readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const packet = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString()
      if (packet === '2') {
        ws.send('3')
        return
      }
      this.inbox.push(packet)
    })
    this.closed = new Promise((resolve) => { ws.on('close', (code) => { resolve(code) }) })
  }

  /** Opens `/socket.io/?EIO=4&transport=websocket&<query>` and reads the Engine.IO open packet. */
  static async open (wsUrl: string, query = ''): Promise<RawEngineSocket> {
    const ws = new WebSocket(`${wsUrl}/socket.io/?EIO=4&transport=websocket${query === '' ? '' : `&${query}`}`)
    const socket = new RawEngineSocket(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    })
    const open = await socket.next()
    if (!open.startsWith('0{')) throw new Error(`expected the Engine.IO open packet, got ${open}`)
    return socket
  }

  /** Opens and sends the Socket.IO CONNECT with `auth`; returns the socket and the server's answer (`40…` or `44…`). */
  static async connect (wsUrl: string, auth: object, query = ''): Promise<{ socket: RawEngineSocket, answer: string }> {
    const socket = await RawEngineSocket.open(wsUrl, query)
    socket.send(`40${JSON.stringify(auth)}`)
    return { socket, answer: await socket.next() }
  }

  send (packet: string | Buffer): void {
    this.ws.send(packet)
  }

  async next (timeoutMs = 3000): Promise<string> {
    return await this.inbox.next(timeoutMs)
  }

  /** Resolves with the close code, or rejects if the socket stays open past the timeout. */
  async closedWithin (timeoutMs = 3000): Promise<number> {
    return await within(this.closed, timeoutMs, 'still open')
  }

  close (): void {
    this.ws.close()
  }
}

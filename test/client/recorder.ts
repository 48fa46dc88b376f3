import WebSocket from 'ws'
import type { CloseInfo, ConnectionStatus, ServerMessage, StatusInfo, WsgateClientOptions } from '../../src/client/index.js'

/**
 * Callbacks for a WsgateClient that keep everything it reports, so a test
 * can wait for a status or a message without racing the socket.
 */
export class Recorder {
  readonly statuses: Array<{ status: ConnectionStatus, info: StatusInfo }> = []
  readonly messages: ServerMessage[] = []
  readonly closes: CloseInfo[] = []

  /** The callbacks and the Node WebSocket, to spread into the client's options. */
  get options (): Pick<WsgateClientOptions, 'onStatus' | 'onMessage' | 'onClose' | 'WebSocket'> {
    return {
      WebSocket,
      onStatus: (status, info) => { this.statuses.push({ status, info }) },
      onMessage: (message) => { this.messages.push(message) },
      onClose: (close) => { this.closes.push(close) }
    }
  }

  count (status: ConnectionStatus): number {
    return this.statuses.filter((s) => s.status === status).length
  }

  /** Waits until `status` has been reported `times` times in all. */
  async status (status: ConnectionStatus, times = 1, timeoutMs = 5000): Promise<StatusInfo> {
    await this.until(() => this.count(status) >= times, timeoutMs, `status ${status} ×${times}`)
    return this.statuses.filter((s) => s.status === status)[times - 1]?.info ?? {}
  }

  async message (predicate: (message: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    let found: ServerMessage | undefined
    await this.until(() => (found = this.messages.find(predicate)) !== undefined, timeoutMs, 'message')
    if (found === undefined) throw new Error('unreachable')
    return found
  }

  private async until (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate()) {
      if (Date.now() > deadline) {
        const seen = this.statuses.map((s) => s.status + (s.info.close !== undefined ? `(${s.info.close.code} ${s.info.close.reason})` : '')).join(' → ')
        throw new Error(`${what} not reached within ${timeoutMs} ms; statuses: ${seen}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

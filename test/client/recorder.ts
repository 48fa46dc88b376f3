import WebSocket from 'ws'
import type { CloseInfo, ConnectionStatus, Scheduler, ServerMessage, StatusInfo, WsgateClientOptions } from '../../src/client/index.js'

/**
 * Callbacks for a WsgateClient that keep everything it reports, so a test
 * can wait for a status or a message without racing the socket.
 */
export class Recorder {
  readonly statuses: Array<{ status: ConnectionStatus, info: StatusInfo }> = []
  readonly messages: ServerMessage[] = []
  readonly closes: CloseInfo[] = []
  /** Delays the client asked for, in order (reconnects and refreshes). */
  readonly scheduled: number[] = []
  private live = 0

  /** The callbacks, the Node WebSocket and a counting scheduler, to spread into the client's options. */
  get options (): Pick<WsgateClientOptions, 'onStatus' | 'onMessage' | 'onClose' | 'WebSocket' | 'schedule'> {
    return {
      WebSocket,
      onStatus: (status, info) => { this.statuses.push({ status, info }) },
      onMessage: (message) => { this.messages.push(message) },
      onClose: (close) => { this.closes.push(close) },
      schedule: this.schedule
    }
  }

  /**
   * The client's own waits (backoff, refresh) on real timers, passed through
   * and counted: a task is pending until it runs or is cancelled.
   */
  private readonly schedule: Scheduler = (task, delayMs) => {
    this.scheduled.push(delayMs)
    this.live++
    let done = false
    const settle = (): void => {
      if (!done) this.live--
      done = true
    }
    const timer = setTimeout(() => { settle(); task() }, delayMs)
    return () => { settle(); clearTimeout(timer) }
  }

  /** Tasks the client has scheduled that have neither run nor been cancelled. */
  get pending (): number {
    return this.live
  }

  count (status: ConnectionStatus): number {
    return this.statuses.filter((s) => s.status === status).length
  }

  /** Waits until `status` has been reported `times` times in all. */
  async status (status: ConnectionStatus, times = 1, timeoutMs = 10_000): Promise<StatusInfo> {
    await this.until(() => this.count(status) >= times, timeoutMs, `status ${status} ×${times}`)
    return this.statuses.filter((s) => s.status === status)[times - 1]?.info ?? {}
  }

  async message (predicate: (message: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    let found: ServerMessage | undefined
    await this.until(() => (found = this.messages.find(predicate)) !== undefined, timeoutMs, 'message')
    if (found === undefined) throw new Error('unreachable')
    return found
  }

  /** Polls every 10 ms up to a deadline: the callbacks run on the socket's events, not on a promise. */
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

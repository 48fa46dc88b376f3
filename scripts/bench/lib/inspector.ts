import WebSocket, { type RawData } from 'ws'
import { sleep } from './spawn.js'

/**
 * A minimal Chrome DevTools Protocol client for a node started with
 * `--inspect=127.0.0.1:<port>`: the soak reads wsgate's V8 heap and forces
 * a full GC through it, without any code in wsgate itself.
 */
export class Inspector {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()

  private constructor (private readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString() : Buffer.from(data as ArrayBuffer).toString()
      const message = JSON.parse(text) as { id?: number, result?: unknown, error?: { message?: string } }
      if (message.id === undefined) return
      const p = this.pending.get(message.id)
      if (p === undefined) return
      this.pending.delete(message.id)
      if (message.error !== undefined) p.reject(new Error(message.error.message ?? 'inspector error'))
      else p.resolve(message.result)
    })
  }

  static async connect (port: number, timeoutMs = 10_000): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs
    let url: string | undefined
    while (url === undefined) {
      try {
        const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl?: string }>
        url = targets[0]?.webSocketDebuggerUrl
      } catch { /* not up yet */ }
      if (url === undefined) {
        if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port}`)
        await sleep(100)
      }
    }
    const ws = new WebSocket(url, { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    })
    return new Inspector(ws)
  }

  async call (method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** V8 heap in use and reserved, bytes. */
  async heap (): Promise<{ usedSize: number, totalSize: number }> {
    return await this.call('Runtime.getHeapUsage') as { usedSize: number, totalSize: number }
  }

  async collectGarbage (): Promise<void> {
    await this.call('HeapProfiler.collectGarbage')
  }

  close (): void {
    this.ws.close()
  }
}

import type { ChildProcess } from 'node:child_process'
import type { Op, Requests, RunnerToWorker, WatermarkMessage, WorkerToRunner } from './protocol.js'
import { spawnNode, stopChild } from './spawn.js'

type Pending = { resolve: (value: unknown) => void, reject: (err: Error) => void }

/** The runner's handle on one load-generator process. */
export class LoadWorker {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly watermarkListeners = new Set<(message: WatermarkMessage) => void>()

  private constructor (readonly name: string, private readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => { this.onMessage(raw as WorkerToRunner) })
    child.once('exit', (code, signal) => {
      const err = new Error(`load generator ${name} exited (${signal ?? code ?? 'unknown'})`)
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    })
  }

  get pid (): number {
    return this.child.pid ?? -1
  }

  static async start (script: string, name: string): Promise<LoadWorker> {
    const child = spawnNode(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const worker = new LoadWorker(name, child)
    await new Promise<void>((resolve, reject) => {
      const onMessage = (raw: unknown): void => {
        if ((raw as WorkerToRunner).type === 'ready') {
          child.off('message', onMessage)
          resolve()
        }
      }
      child.on('message', onMessage)
      child.once('exit', () => { reject(new Error(`load generator ${name} exited before it was ready`)) })
    })
    return worker
  }

  async request<K extends Op> (op: K, args: Requests[K]['args']): Promise<Requests[K]['result']> {
    const id = this.nextId++
    const message = { type: 'request', id, op, args } as RunnerToWorker
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send(message)
    })
  }

  notify (message: WatermarkMessage): void {
    if (this.child.connected) this.child.send(message)
  }

  onWatermark (listener: (message: WatermarkMessage) => void): () => void {
    this.watermarkListeners.add(listener)
    return () => { this.watermarkListeners.delete(listener) }
  }

  async stop (): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'exit' } satisfies RunnerToWorker)
    await stopChild(this.child, 2000)
  }

  private onMessage (message: WorkerToRunner): void {
    if (message.type === 'watermark') {
      for (const listener of this.watermarkListeners) listener(message)
      return
    }
    if (message.type !== 'reply') return
    const p = this.pending.get(message.id)
    if (p === undefined) return
    this.pending.delete(message.id)
    if (message.ok) p.resolve(message.result)
    else p.reject(new Error(`${this.name}: ${message.error}`))
  }
}

/**
 * The load generators of a run: `sockets` hold subscribers, `pub` holds the
 * publisher's socket, `http` hammers HTTP. Each is its own process.
 */
export class WorkerPool {
  private constructor (readonly sockets: readonly LoadWorker[], readonly pub: LoadWorker, readonly http: LoadWorker) {}

  static async start (script: string, clients: number): Promise<WorkerPool> {
    const [pub, http, ...sockets] = await Promise.all([
      LoadWorker.start(script, 'publisher'),
      LoadWorker.start(script, 'http'),
      ...Array.from({ length: clients }, async (_, i) => await LoadWorker.start(script, `sockets-${i + 1}`))
    ])
    if (pub === undefined || http === undefined) throw new Error('load generators did not start')
    return new WorkerPool(sockets, pub, http)
  }

  get all (): LoadWorker[] {
    return [...this.sockets, this.pub, this.http]
  }

  async closeAll (): Promise<void> {
    await Promise.all(this.all.map(async (w) => await w.request('close', {})))
  }

  async stop (): Promise<void> {
    await Promise.all(this.all.map(async (w) => { await w.stop() }))
  }
}

/** n split into k nearly equal shares. */
export function shares (n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0))
}

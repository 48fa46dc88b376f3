import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { PasswordJob, PasswordReply } from './password-jobs.js'

/** bcrypt reads only the first 72 bytes; anything after them is silently ignored. */
export const MAX_PASSWORD_BYTES = 72

/** Why a password may not be set, or undefined when it may. */
export function passwordProblem (password: string): string | undefined {
  if (password.length === 0) return 'Password must not be empty'
  const bytes = Buffer.byteLength(password, 'utf8')
  if (bytes > MAX_PASSWORD_BYTES) {
    return `Password must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (got ${bytes}): bcrypt ignores everything after byte ${MAX_PASSWORD_BYTES}`
  }
  return undefined
}

const WORKER_URL = new URL('./password-worker.mjs', import.meta.url)

// Checked before a job is sent, so a malformed stored hash is answered false
// at once instead of as a bcryptjs error from the worker.
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/

/** The parent's environment without NODE_OPTIONS: bcrypt reads nothing from it. */
function workerEnv (): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...env } = process.env
  return env
}

type WithoutId<J> = J extends unknown ? Omit<J, 'id'> : never
type JobInput = WithoutId<PasswordJob>

interface Pending {
  readonly job: PasswordJob
  readonly resolve: (value: string | boolean) => void
  readonly reject: (err: Error) => void
}

interface Slot {
  readonly worker: Worker
  ready: boolean
  current: Pending | undefined
  error: Error | undefined
}

/** The worker answered with an error (bad salt, bad hash); the worker itself is fine. */
class WorkerReplyError extends Error {
  override name = 'WorkerReplyError'
}

/**
 * A pool of bcrypt worker threads with a FIFO queue. bcrypt never runs on the
 * event loop; a dead worker fails only its own request and is replaced.
 */
export class PasswordHasher {
  private readonly slots = new Set<Slot>()
  private readonly queue: Pending[] = []
  private nextId = 1
  private closed = false
  private callCount = 0
  private dummyHash = ''

  private constructor (readonly cost: number, readonly size: number, readonly nice: number) {}

  /** `nice`: the workers' scheduling priority, 0 (normal) to 19 (lowest, the default). */
  static async create (options: { cost: number, size?: number, nice?: number }): Promise<PasswordHasher> {
    const { cost } = options
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError(`bcrypt cost must be a whole number from 4 to 31 (got ${cost})`)
    const size = options.size ?? Math.max(1, availableParallelism())
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a whole number of at least 1 (got ${size})`)
    const nice = options.nice ?? 19
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be a whole number from 0 to 19 (got ${nice})`)
    const hasher = new PasswordHasher(cost, size, nice)
    try {
      await Promise.all(Array.from({ length: size }, async () => await hasher.spawn()))
      // A real hash of the configured cost: comparing against it costs what a wrong password costs.
      const dummy = await hasher.run({ op: 'hash', password: randomBytes(18).toString('base64url'), cost })
      if (typeof dummy !== 'string') throw new Error('password worker returned no hash')
      hasher.dummyHash = dummy
    } catch (err) {
      await hasher.close()
      throw err
    }
    return hasher
  }

  /** bcrypt operations requested through hash, verify and verifyUnknownUser (not the dummy hash). */
  get calls (): number {
    return this.callCount
  }

  /** Requests waiting for a free worker (not those a worker is running): the pool's backlog. */
  get queueDepth (): number {
    return this.queue.length
  }

  async hash (password: string): Promise<string> {
    const problem = passwordProblem(password)
    if (problem !== undefined) throw new RangeError(problem)
    this.callCount++
    const value = await this.run({ op: 'hash', password, cost: this.cost })
    if (typeof value !== 'string') throw new Error('password worker returned no hash')
    return value
  }

  /** False for a wrong password and for a malformed hash; rejects only if the pool fails. */
  async verify (password: string, hash: string): Promise<boolean> {
    if (!BCRYPT_HASH.test(hash)) return false
    this.callCount++
    try {
      return await this.run({ op: 'compare', password, hash }) === true
    } catch (err) {
      if (err instanceof WorkerReplyError) return false
      throw err
    }
  }

  /** Spends a real compare so that an unknown username takes as long as a wrong password. */
  async verifyUnknownUser (password: string): Promise<false> {
    await this.verify(password, this.dummyHash)
    return false
  }

  async close (): Promise<void> {
    this.closed = true
    const err = new Error('PasswordHasher is closed')
    for (const pending of this.queue.splice(0)) pending.reject(err)
    const slots = [...this.slots]
    for (const slot of slots) {
      slot.current?.reject(err)
      slot.current = undefined
      // Held until it has exited (terminate does so too, but a late reply
      // must not undo it: see the message handler), so that the process
      // cannot end with this close pending and the caller's next steps unrun.
      slot.worker.ref()
    }
    await Promise.all(slots.map(async (slot) => await slot.worker.terminate()))
  }

  private async run (input: JobInput): Promise<string | boolean> {
    if (this.closed) throw new Error('PasswordHasher is closed')
    if (this.slots.size === 0) throw new Error('PasswordHasher has no live workers')
    return await new Promise((resolve, reject) => {
      this.queue.push({ job: { ...input, id: this.nextId++ }, resolve, reject })
      this.dispatch()
    })
  }

  private dispatch (): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.current !== undefined) continue
      const next = this.queue.shift()
      if (next === undefined) return
      slot.current = next
      // Busy workers keep the process alive; idle ones do not (see spawn).
      slot.worker.ref()
      slot.worker.postMessage(next.job)
    }
  }

  /** Resolves once the worker has loaded; rejects if it dies first. */
  private async spawn (): Promise<void> {
    // No inherited loaders: the worker is plain JavaScript, and a parent's
    // --import hooks (tsx, a test runner's) cost ~0.4 s per thread. Given an
    // execArgv, Node parses the NODE_OPTIONS of the worker's env instead, so
    // that is left out too: under tap it carried a loader worth ~0.6 s more.
    const worker = new Worker(WORKER_URL, { execArgv: [], env: workerEnv(), workerData: { nice: this.nice } })
    const slot: Slot = { worker, ready: false, current: undefined, error: undefined }
    this.slots.add(slot)
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: PasswordReply) => {
        if (reply.type === 'ready') {
          slot.ready = true
          resolve()
        } else {
          this.settle(slot, reply)
        }
        this.dispatch()
        // An idle pool must not hold a CLI or a test process open; a closing
        // one must, until its workers have exited (see close).
        if (slot.current === undefined && !this.closed) worker.unref()
      })
      // Without a listener, a worker's uncaught error would be thrown in this thread.
      worker.on('error', (err) => { slot.error = err })
      worker.on('exit', (code) => {
        this.slots.delete(slot)
        const err = slot.error ?? new Error(`password worker exited with code ${code}`)
        if (!slot.ready) reject(err)
        this.replace(slot, err)
      })
    })
  }

  private settle (slot: Slot, reply: Exclude<PasswordReply, { type: 'ready' }>): void {
    const pending = slot.current
    if (pending === undefined || pending.job.id !== reply.id) return
    slot.current = undefined
    if (reply.type === 'result') pending.resolve(reply.value)
    else pending.reject(new WorkerReplyError(reply.message))
  }

  private replace (dead: Slot, err: Error): void {
    if (this.closed) return
    dead.current?.reject(new Error(`password worker died: ${err.message}`))
    dead.current = undefined
    // A worker that never loaded would fail again: respawning it would only loop.
    if (dead.ready) this.spawn().catch((spawnErr: unknown) => { this.failIfEmpty(spawnErr) })
    else this.failIfEmpty(err)
  }

  private failIfEmpty (err: unknown): void {
    if (this.slots.size > 0) return
    const reason = new Error(`PasswordHasher has no live workers: ${err instanceof Error ? err.message : String(err)}`)
    for (const pending of this.queue.splice(0)) pending.reject(reason)
  }
}

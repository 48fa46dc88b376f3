import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'

/**
 * How long a child may take for one step (to start, to print what a test
 * waits for, to exit). A deadline for a broken child, not a measure: a
 * compiled script needs well under a second on an idle machine.
 */
export const CHILD_MS = 30_000

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface StartOptions {
  readonly args?: readonly string[]
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** Written to stdin at once. stdin stays open until `endInput()`, or `end: true`. */
  readonly input?: string
  readonly end?: boolean
}

/** `node <file>` as a child process, its stdout and stderr collected. */
export class NodeChild {
  readonly process: ChildProcessWithoutNullStreams
  #stdout = ''
  #stderr = ''
  #killedAfter: number | undefined
  #hasClosed = false
  readonly #closed: Promise<{ code: number | null, signal: NodeJS.Signals | null }>

  constructor (file: string, options: StartOptions) {
    // tap's processinfo plugin hooks every spawn in a test process and puts its
    // loader back into NODE_OPTIONS, whatever `env` says (childEnv() cannot keep
    // it out): each child then loads and runs it, costing it about as much
    // again as its own work. env(1) drops it just before it execs node, so the
    // child is node itself (same pid, signals reach it).
    this.process = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, file, ...(options.args ?? [])], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.process.stdout.setEncoding('utf8').on('data', (chunk: string) => { this.#stdout += chunk })
    this.process.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.#stderr += chunk })
    // 'close' comes after the exit and after stdout and stderr have ended, so nothing printed is missed.
    this.#closed = new Promise((resolve, reject) => {
      this.process.once('error', reject)
      this.process.once('close', (code, signal) => {
        this.#hasClosed = true
        resolve({ code, signal })
      })
    })
    // Observed by closed(); a spawn error must not surface as an unhandled rejection before that.
    this.#closed.catch(() => {})
    // The child may exit without reading its input; that is the test's business, not an error.
    this.process.stdin.on('error', () => {})
    if (options.input !== undefined) this.process.stdin.write(options.input)
    if (options.end === true) this.process.stdin.end()
  }

  get stdout (): string { return this.#stdout }
  get stderr (): string { return this.#stderr }

  endInput (): void {
    this.process.stdin.end()
  }

  /** Output so far, for failure messages. */
  describe (): string {
    return `stdout: ${this.#stdout.slice(-4000)}\nstderr: ${this.#stderr.slice(-4000)}`
  }

  /** Resolves once `predicate(stdout)` holds; fails if the child closes first or `ms` pass. */
  async output (predicate: (stdout: string) => boolean, what: string, ms = CHILD_MS): Promise<void> {
    if (predicate(this.#stdout)) return
    if (this.#hasClosed) throw new Error(`the child closed before ${what}\n${this.describe()}`)
    const { stdout } = this.process
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer)
        stdout.off('data', onData)
        this.process.off('close', onClose)
        if (err === undefined) resolve()
        else reject(err)
      }
      // Added after the collector above, so #stdout already holds the chunk.
      const onData = (): void => { if (predicate(this.#stdout)) done() }
      const onClose = (): void => { done(new Error(`the child closed before ${what}\n${this.describe()}`)) }
      const timer = setTimeout(() => { done(new Error(`${what} not seen within ${ms} ms\n${this.describe()}`)) }, ms)
      stdout.on('data', onData)
      this.process.once('close', onClose)
    })
  }

  /**
   * The child's exit once it has closed by itself. After `ms` it is killed
   * and this fails: a child that never exits is a failure, not a hang.
   */
  async closed (ms = CHILD_MS): Promise<Exit> {
    const timer = setTimeout(() => {
      this.#killedAfter = ms
      this.process.kill('SIGKILL')
    }, ms)
    try {
      const { code, signal } = await this.#closed
      if (this.#killedAfter !== undefined) throw new Error(`still running after ${this.#killedAfter} ms, killed\n${this.describe()}`)
      return { code, signal, stdout: this.#stdout, stderr: this.#stderr }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends `signal` (SIGTERM by default) and waits for the child to close. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', ms = CHILD_MS): Promise<Exit> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal)
    return await this.closed(ms)
  }
}

/** Runs `node <file> <args>` to its end with `input` as the whole of stdin. */
export async function runToEnd (file: string, options: StartOptions): Promise<Exit> {
  return await new NodeChild(file, { ...options, end: true }).closed()
}

/** The first JSON log line (pino's) on the child's stdout that `match` accepts, once it is complete. */
export async function logLine (child: NodeChild, match: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  const find = (stdout: string): Record<string, unknown> | undefined => {
    for (const text of stdout.split('\n').slice(0, -1)) {
      if (!text.startsWith('{')) continue
      const line = JSON.parse(text) as Record<string, unknown>
      if (match(line)) return line
    }
    return undefined
  }
  await child.output((stdout) => find(stdout) !== undefined, what)
  const line = find(child.stdout)
  if (line === undefined) throw new Error(`${what} vanished`)
  return line
}

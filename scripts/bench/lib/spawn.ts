import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process'
import { createServer } from 'node:net'

/** Open files wanted per process: 10 000 sockets plus the process's own. */
export const WANTED_FD_LIMIT = 65535

/**
 * Every child is started as `bash -c 'ulimit -n …; exec node …'`: the soft
 * open-files limit is raised (to the hard limit when 65535 is not allowed)
 * and `exec` keeps the pid, so /proc/<pid> is node's own.
 */
const RAISE_AND_EXEC = `ulimit -n ${WANTED_FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`

/** The open-files limit children actually get. */
export function childFdLimit (): number {
  const result = spawnSync('bash', ['-c', `ulimit -n ${WANTED_FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n`], { encoding: 'utf8' })
  const value = Number(result.stdout.trim())
  return Number.isFinite(value) ? value : Number.NaN
}

const live = new Set<ChildProcess>()

export interface NodeChildOptions {
  readonly nodeArgs?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  readonly stdio?: StdioOptions
}

export function spawnNode (script: string, args: readonly string[], options: NodeChildOptions = {}): ChildProcess {
  const child = spawn('bash', ['-c', RAISE_AND_EXEC, process.execPath, ...(options.nodeArgs ?? []), script, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: options.stdio ?? 'inherit'
  })
  live.add(child)
  child.once('exit', () => { live.delete(child) })
  return child
}

/** Ends every child this process started and that still runs. */
export function killChildren (): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  live.clear()
}

export async function waitExit (child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. */
export async function stopChild (child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  if (!await waitExit(child, graceMs)) {
    child.kill('SIGKILL')
    await waitExit(child, 2000)
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

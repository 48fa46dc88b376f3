import type { ChildProcess } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import type { ServerName } from './args.js'
import { Inspector } from './inspector.js'
import { cpuSeconds, memoryStatus } from './proc.js'
import type { Target } from './protocol.js'
import { freePort, sleep, spawnNode, stopChild } from './spawn.js'
import { sioPath } from './wire.js'

export const SERVER_LABEL: Readonly<Record<ServerName, string>> = { raw: 'raw ws', sio: 'Socket.IO', wsgate: 'wsgate' }

/** The user every bench socket authenticates as: wsgate's demo account. */
export const BENCH_USER = 'user'
export const BENCH_PASSWORD = 'password'

export interface ServerSetup {
  readonly repo: string
  /** Where the compiled reference servers are (see compile.ts). */
  readonly buildDir: string
  /** Per-run scratch: SQLite files, server logs. */
  readonly tmpDir: string
  readonly secret: string
  /** Environment wsgate starts with, on top of the limits. */
  readonly wsgateEnv: Readonly<Record<string, string>>
  /** dist/src as built for this run (see distFingerprint); a change means someone rebuilt it mid-run. */
  readonly distFingerprint?: string
}

/** Paths, sizes and mtimes of every file under dir, hashed: cheap, and changes with any rebuild. */
export function distFingerprint (dir: string): string {
  const hash = createHash('sha256')
  const walk = (d: string): void => {
    let entries: string[]
    try {
      entries = readdirSync(d).sort()
    } catch {
      return
    }
    for (const name of entries) {
      const path = join(d, name)
      const st = statSync(path)
      if (st.isDirectory()) walk(path)
      else hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`)
    }
  }
  walk(dir)
  return hash.digest('hex')
}

export interface StartOptions {
  /**
   * Start node with the inspector on 127.0.0.1 at this port, and connect to
   * it: the memory case and the soak read the V8 heap and force full GCs.
   */
  readonly inspectPort?: number
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[]
}

let started = 0

export class RunningServer {
  /** Set when started with an inspect port: heap readings and forced GCs. */
  inspector: Inspector | undefined
  /** wsgate only: dist/src differs from what this run built. */
  distChanged = false

  constructor (
    readonly name: ServerName,
    readonly child: ChildProcess,
    readonly port: number,
    readonly target: Target,
    readonly logFile: string,
    /** The environment wsgate actually ran with (limits included); empty for the others. */
    readonly env: Readonly<Record<string, string>>
  ) {}

  get pid (): number {
    return this.child.pid ?? -1
  }

  get httpUrl (): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Server CPU seconds so far, every thread plus reaped children. */
  cpu (): number {
    return cpuSeconds(this.pid)
  }

  rssKb (): number {
    return memoryStatus(this.pid).vmRssKb
  }

  get alive (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** A full GC through the inspector; false when there is none. */
  async collectGarbage (): Promise<boolean> {
    if (this.inspector === undefined) return false
    await this.inspector.collectGarbage()
    return true
  }

  /** V8 heap used, KiB, or NaN without an inspector. */
  async heapKb (): Promise<number> {
    if (this.inspector === undefined) return Number.NaN
    return (await this.inspector.heap()).usedSize / 1024
  }

  async stop (): Promise<void> {
    this.inspector?.close()
    await stopChild(this.child)
  }
}

// --- wsgate's environment ----------------------------------------------------

/** Every key .env.example names, set or commented out. */
export function envExampleKeys (text: string): string[] {
  const keys = new Set<string>()
  for (const line of text.split('\n')) {
    const match = /^\s*#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)
    if (match?.[1] !== undefined) keys.add(match[1])
  }
  return [...keys]
}

/** Limits the bench must lift: a per-user socket cap of 100 or 10 logins a minute would end every case early. */
export const KNOWN_LIMITS: Readonly<Record<string, string>> = {
  WS_MAX_CONNECTIONS_PER_USER: '1000000',
  WS_MESSAGES_PER_SECOND: '1000000',
  WS_MESSAGE_BURST: '1000000',
  TOKEN_RATE_LIMIT: '100000',
  // Its range tops out at 1 000 today; a refused value is lowered at start anyway.
  LOGIN_FREE_FAILURES: '1000'
}

const LIMIT_LIKE = /(RATE_LIMIT|BURST|_PER_(SECOND|MINUTE|HOUR|USER|IP|CONNECTION|SOCKET)|MAX_CONNECTIONS|MAX_SOCKETS|FREE_FAILURES|MAX_ATTEMPTS|MAX_REQUESTS|MAX_FAILURES)/
const NOT_A_LIMIT = /(WINDOW|INTERVAL|TIMEOUT|_MS$|_SECONDS$|_MINUTES$|_HOURS$|_DAYS$|DURATION|PAYLOAD|BYTES|SIZE|BAN|BLOCK|LOCK|DELAY|BACKOFF)/

/**
 * The limit keys of .env.example, each with a generous value: the known
 * ones above, and any other key that reads like a count limit (new limits
 * are being added while this bench is written). A value the server refuses
 * as out of range is lowered to the range's top at start (see startWsgate).
 */
export function generousLimits (envExample: string): Record<string, string> {
  const limits: Record<string, string> = { ...KNOWN_LIMITS }
  for (const key of envExampleKeys(envExample)) {
    if (limits[key] === undefined && LIMIT_LIKE.test(key) && !NOT_A_LIMIT.test(key)) limits[key] = '1000000'
  }
  return limits
}

/** `KEY must be a whole number from A to B` lines of a failed start: key → B. */
export function rangeProblems (log: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const match of log.matchAll(/([A-Z][A-Z0-9_]*) must be a whole number from -?\d+ to (\d+)/g)) {
    if (match[1] !== undefined && match[2] !== undefined) out.set(match[1], match[2])
  }
  return out
}

// --- starting servers --------------------------------------------------------

async function waitForPort (port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('server exited during start')
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => { resolve(false) })
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`)
}

async function waitForHealth (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('server exited during start')
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return
    } catch { /* not yet */ }
    await sleep(50)
  }
  throw new Error(`${url}/health did not answer 200 within ${timeoutMs} ms`)
}

function tail (file: string, lines = 20): string {
  if (!existsSync(file)) return ''
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

/** A token shaped like wsgate's (sub, iat, exp, jti, sid, roles), for the reference servers. */
export function signReferenceToken (secret: string): string {
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const iat = Math.floor(Date.now() / 1000)
  return sign({ sub: BENCH_USER, iat, exp: iat + 24 * 3600, jti: randomUUID(), sid: randomUUID(), roles: [] })
}

function spawnLogged (name: string, script: string, setup: ServerSetup, env: NodeJS.ProcessEnv, cwd: string, options: StartOptions): { child: ChildProcess, logFile: string } {
  started++
  const logFile = join(setup.tmpDir, `${name}-${started}.log`)
  const fd = openSync(logFile, 'a')
  const nodeArgs = [...(options.nodeArgs ?? []), ...(options.inspectPort === undefined ? [] : [`--inspect=127.0.0.1:${options.inspectPort}`])]
  const child = spawnNode(script, [], { env, cwd, nodeArgs, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  return { child, logFile }
}

async function startReference (name: 'raw' | 'sio', setup: ServerSetup, options: StartOptions): Promise<RunningServer> {
  const port = await freePort()
  const script = join(setup.buildDir, name === 'raw' ? 'raw-ws-server.mjs' : 'socketio-server.mjs')
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), JWT_SECRET_KEY: setup.secret }
  const { child, logFile } = spawnLogged(name, script, setup, env, setup.tmpDir, options)
  try {
    await waitForPort(port, child, 15_000)
  } catch (err) {
    await stopChild(child)
    throw new Error(`${SERVER_LABEL[name]} failed to start: ${(err as Error).message}\n${tail(logFile)}`)
  }
  const token = signReferenceToken(setup.secret)
  const target: Target = name === 'raw'
    ? { kind: 'ws', url: `ws://127.0.0.1:${port}/?token=${token}`, token, user: BENCH_USER }
    : { kind: 'sio', url: sioPath(port), token, user: BENCH_USER }
  return new RunningServer(name, child, port, target, logFile, {})
}

async function login (url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString()
  })
  const body = await res.json() as { access_token?: unknown }
  if (res.status !== 200 || typeof body.access_token !== 'string') throw new Error(`POST /token answered ${res.status}: ${JSON.stringify(body)}`)
  return body.access_token
}

/**
 * wsgate as a user runs it: `node dist/src/server.js`, its own SQLite file,
 * a fixed secret, LOG_LEVEL=warn, limits lifted. The cwd is the scratch
 * folder so that a developer's `.env` cannot change the run; the variables
 * of .env.example are removed from the inherited environment for the same
 * reason. The socket token comes from one real login.
 */
/** Limits lowered to the top of their range after a refused start; kept for the rest of the run. */
const lowered = new Map<string, string>()

async function startWsgate (setup: ServerSetup, options: StartOptions): Promise<RunningServer> {
  const envExamplePath = join(setup.repo, '.env.example')
  const envExample = existsSync(envExamplePath) ? readFileSync(envExamplePath, 'utf8') : ''
  const limits = { ...generousLimits(envExample), ...Object.fromEntries(lowered) }
  const script = join(setup.repo, 'dist', 'src', 'server.js')
  if (!existsSync(script)) throw new Error(`${script} is missing: run "npm run build" (or drop --no-build)`)
  for (let attempt = 1; ; attempt++) {
    // A replacement (the reconnect storm's restart) takes its predecessor's port.
    const port = setup.wsgateEnv.PORT !== undefined ? Number(setup.wsgateEnv.PORT) : await freePort()
    started++
    const env: NodeJS.ProcessEnv = { ...process.env }
    for (const key of envExampleKeys(envExample)) Reflect.deleteProperty(env, key)
    const own: Record<string, string> = {
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET_KEY: setup.secret,
      DATABASE_URL: `sqlite:${join(setup.tmpDir, `wsgate-${started}.db`)}`,
      LOG_LEVEL: 'warn',
      ...limits,
      ...setup.wsgateEnv
    }
    Object.assign(env, own)
    const { child, logFile } = spawnLogged('wsgate', script, setup, env, setup.tmpDir, options)
    try {
      await waitForHealth(`http://127.0.0.1:${port}`, child, 30_000)
    } catch (err) {
      await stopChild(child)
      const log = tail(logFile, 40)
      const fixes = [...rangeProblems(log)].filter(([key, max]) => limits[key] !== undefined && limits[key] !== max && setup.wsgateEnv[key] === undefined)
      if (fixes.length > 0 && attempt < 4) {
        for (const [key, max] of fixes) {
          limits[key] = max
          lowered.set(key, max)
        }
        continue
      }
      throw new Error(`wsgate failed to start: ${(err as Error).message}\n${log}`)
    }
    const url = `http://127.0.0.1:${port}`
    let token: string
    try {
      token = await login(url, BENCH_USER, BENCH_PASSWORD)
    } catch (err) {
      await stopChild(child)
      throw new Error(`wsgate login failed: ${(err as Error).message}\n${tail(logFile)}`)
    }
    const target: Target = { kind: 'ws', url: `ws://127.0.0.1:${port}/ws?token=${token}`, token, user: BENCH_USER }
    const running = new RunningServer('wsgate', child, port, target, logFile, own)
    running.distChanged = setup.distFingerprint !== undefined && distFingerprint(join(setup.repo, 'dist', 'src')) !== setup.distFingerprint
    return running
  }
}

export async function startServer (name: ServerName, setup: ServerSetup, options: StartOptions = {}): Promise<RunningServer> {
  const server = name === 'wsgate' ? await startWsgate(setup, options) : await startReference(name, setup, options)
  if (options.inspectPort !== undefined) {
    try {
      server.inspector = await Inspector.connect(options.inspectPort)
    } catch (err) {
      await server.stop()
      throw err
    }
  }
  return server
}

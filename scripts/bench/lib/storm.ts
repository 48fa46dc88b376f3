import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { metric, type CaseContext, type CaseOutcome } from './cases.js'
import { startServer, type RunningServer, type ServerSetup } from './servers.js'
import { spawnNode } from './spawn.js'
import { shares } from './workers.js'

/** What one storm-clients child reports (see children/storm-clients.ts). */
interface StormReport {
  readonly open: number
  readonly firstCloseUs: number
  readonly lastBackUs: number
  readonly attempts: number
  readonly gaveUp: number
  readonly closes: Readonly<Record<string, number>>
  readonly timedOut?: boolean
}

interface Loop {
  readonly maxMs: number
  readonly p99Ms: number
  readonly p50Ms: number
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)

/** A storm-clients child: resolves `ready` once its sockets are open, `report` once they are all back. */
function stormClients (script: string, url: string, count: number, timeoutMs: number): { ready: Promise<void>, report: Promise<StormReport> } {
  const child = spawnNode(script, [JSON.stringify({ url, count, concurrency: 100, timeoutMs })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  let onReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => { onReady = resolve })
  const report = new Promise<StormReport>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.startsWith('ready\n')) onReady()
    })
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? ''
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`storm clients exited with ${code}: ${out.slice(-200)}`))
      else resolve(JSON.parse(last) as StormReport)
    })
  })
  return { ready, report }
}

/**
 * The reconnect storm of a deploy: `--reconnect-sockets` sockets on one
 * wsgate, which is stopped (SIGTERM: every socket is told 1001 at once) and
 * replaced by a new process on the same port and database. The clients
 * reconnect as the SDK does, with backoff and full jitter. Reported: the
 * time from the first close until every socket is back, the part of it after
 * the replacement answered /health, and the replacement's peak event-loop
 * delay once it answers (measured inside it by a preloaded probe).
 */
export async function reconnectStorm (ctx: CaseContext, setup: ServerSetup, scripts: { stormClients: string, loopProbe: string }, first: RunningServer): Promise<CaseOutcome & { replacement: RunningServer | undefined }> {
  const n = ctx.opts.reconnectSockets
  const warnings: string[] = []
  const timeoutMs = 60_000
  const clients = shares(n, ctx.opts.clients).filter((k) => k > 0).map((k) => stormClients(scripts.stormClients, first.target.url, k, timeoutMs))
  await Promise.all(clients.map(async (c) => { await c.ready }))
  const loopFile = join(setup.tmpDir, `loop-${Date.now()}.json`)
  const stopAt = nowUs()
  await first.stop()
  const startAt = nowUs()
  let replacement: RunningServer | undefined
  try {
    replacement = await startServer('wsgate', { ...setup, wsgateEnv: { ...setup.wsgateEnv, PORT: String(first.port), DATABASE_URL: first.env.DATABASE_URL ?? '', BENCH_LOOP_FILE: loopFile } }, { nodeArgs: ['--import', scripts.loopProbe] })
  } catch (err) {
    warnings.push(`reconnect: the replacement did not start: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  const upAt = nowUs()
  // From here on: the storm, without the replacement's own startup (module loading, migrations).
  if (replacement !== undefined) {
    writeFileSync(`${loopFile}.reset`, '')
    // The probe takes it within 100 ms; figures read before that would include the startup.
    const deadline = Date.now() + 2000
    while (existsSync(`${loopFile}.reset`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const reports = await Promise.all(clients.map(async (c) => await c.report))
  // The probe writes every 100 ms: let it write once more after the last socket is back.
  await new Promise((resolve) => setTimeout(resolve, 250))
  let loop: Loop = { maxMs: Number.NaN, p99Ms: Number.NaN, p50Ms: Number.NaN }
  try {
    loop = JSON.parse(readFileSync(loopFile, 'utf8')) as Loop
  } catch {
    warnings.push('reconnect: no event-loop figures from the replacement')
  }
  const open = reports.reduce((s, r) => s + r.open, 0)
  if (open < n || reports.some((r) => r.timedOut === true)) warnings.push(`reconnect: ${open}/${n} sockets back within ${timeoutMs / 1000} s`)
  const firstClose = Math.min(...reports.map((r) => r.firstCloseUs).filter((us) => us > 0))
  const lastBack = Math.max(...reports.map((r) => r.lastBackUs))
  const closes: Record<string, number> = {}
  for (const r of reports) for (const [why, k] of Object.entries(r.closes)) closes[why] = (closes[why] ?? 0) + k
  const attempts = reports.reduce((s, r) => s + r.attempts, 0)
  return {
    metrics: [
      metric('reconnect.allBackS', `reconnect storm: ${n.toLocaleString('en-US')} sockets, first close → all back`, 's', 'lower', 2, (lastBack - firstClose) / 1e6),
      metric('reconnect.afterUpS', 'reconnect storm: replacement answering → all back', 's', 'lower', 2, (lastBack - upAt) / 1e6),
      metric('reconnect.startS', 'reconnect storm: replacement start (exec → /health and a login)', 's', 'none', 2, (upAt - startAt) / 1e6),
      metric('reconnect.loopMaxMs', 'reconnect storm: replacement\'s peak event-loop delay once answering', 'ms', 'lower', 1, loop.maxMs),
      metric('reconnect.loopP99Ms', 'reconnect storm: replacement\'s p99 event-loop delay', 'ms', 'lower', 1, loop.p99Ms),
      metric('reconnect.attempts', 'reconnect storm: connection attempts per socket', 'count', 'lower', 2, attempts / n)
    ],
    details: { sockets: n, open, stopS: (startAt - stopAt) / 1e6, closes, attempts, loop, reports },
    warnings,
    replacement
  }
}

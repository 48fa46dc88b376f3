import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parseArgs } from '../../scripts/bench/lib/args.js'
import { connectPublisher, connectSpread, measurePhase, type CaseContext } from '../../scripts/bench/lib/cases.js'
import { compileChildren } from '../../scripts/bench/lib/compile.js'
import { startServer } from '../../scripts/bench/lib/servers.js'
import { WorkerPool } from '../../scripts/bench/lib/workers.js'
import { childEnv, compiled } from '../cli.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

// fanout2 publishes through one socket per instance, messages alternating.
// Here both publisher sockets go to one raw ws server, through the real load
// generators: every socket gets every message once, and a phase's CPU is
// read per process.
t.test('a phase publishes through two sockets in turn and every socket gets every message once', async (t) => {
  mkdirSync(join(repo, 'dist'), { recursive: true })
  const buildDir = mkdtempSync(join(repo, 'dist', 'bench-test-'))
  const tmpDir = mkdtempSync(join(tmpdir(), 'wsgate-bench-lanes-'))
  t.teardown(() => {
    rmSync(buildDir, { recursive: true, force: true })
    rmSync(tmpDir, { recursive: true, force: true })
  })
  const scripts = await compileChildren(repo, buildDir)
  const server = await startServer('raw', { repo, buildDir, tmpDir, secret: 'lanes-test-secret-0123456789-0123456789', wsgateEnv: {} })
  t.teardown(async () => { await server.stop() })
  const pool = await WorkerPool.start(scripts.load, 1)
  t.teardown(async () => { await pool.stop() })
  const ctx: CaseContext = { opts: parseArgs(['--smoke']), pool, scripts: { bcryptTime: scripts['bcrypt-time'] }, log: () => {} }
  t.equal((await connectSpread(ctx, server, 6, 'sub', 6)).opened, 6)
  await connectPublisher(ctx, server)
  await connectPublisher(ctx, server)
  let reads = 0
  const read = async (): Promise<number[]> => {
    reads++
    return [server.cpu(), 10 * reads]
  }
  const p = await measurePhase(ctx, read, { mode: 'window', rate: 20, window: 4, durationMs: 200, size: 256 }, 2)
  t.ok(p.sent >= 2, `${p.sent} messages sent`)
  t.equal(p.sockets, 8, '6 subscribers and both publisher sockets')
  t.equal(p.deliveries, p.sent * 8)
  t.same([p.lost, p.duplicates, p.invalid, p.drained], [0, 0, 0, true])
  t.equal(p.cpuParts.length, 2)
  t.equal(p.cpuParts[1], 10, 'each process\'s CPU is its own difference')
  t.equal(p.cpuSeconds, (p.cpuParts[0] ?? Number.NaN) + 10, 'and they sum')
  await t.rejects(measurePhase(ctx, read, { mode: 'rate', rate: 20, window: 1, durationMs: 100, size: 256 }, 1), /2 socket\(s\), the phase expects 1/)
  await pool.closeAll()
})

interface Report {
  metrics: Array<{ key: string, values: Record<string, number[]> }>
  warnings: string[]
}

// The whole case with --smoke against the compiled wsgate (npm run build first).
// Until the Redis broker is merged, two instances with REDIS_URL refuse to
// start and the case must say so and skip; once it is, the case must measure.
t.test('a smoke run of fanout2 measures two instances on Redis against one, or says why it cannot', async (t) => {
  compiled('dist/src/server.js')
  const out = mkdtempSync(join(tmpdir(), 'wsgate-bench-fanout2-'))
  t.teardown(() => { rmSync(out, { recursive: true, force: true }) })
  const args = ['--import', 'tsx', join(repo, 'scripts/bench/run.ts'), '--smoke', '--servers', 'wsgate', '--case', 'fanout2', '--no-build', '--out', out]
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repo, env: childEnv(), timeout: 60_000 }, (err, so, se) => {
      if (err !== null) reject(new Error(`${err.message}\n${so}\n${se}`))
      else resolve(so)
    })
  })
  const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Report
  const value = (key: string): number | undefined => report.metrics.find((m) => m.key === key)?.values.wsgate?.[0]
  t.ok((value('fanout.sat.rate') ?? 0) > 0, 'the one-instance fan-out ran in the same run')
  const unavailable = 'REDIS_URL is set but the Redis broker is not available yet'
  if (report.warnings.some((w) => w.includes(unavailable))) {
    t.same(report.warnings, [`round 1: fanout2 skipped: two wsgate instances on Redis did not start: ${unavailable}`], 'skipped, with the reason')
    t.match(stdout, /fanout2 skipped: .*not available yet/)
    t.equal(value('fanout2.sat.rate'), undefined)
    return
  }
  t.same(report.warnings, [], 'every socket opened, every message delivered once')
  t.ok((value('fanout2.sat.rate') ?? 0) > 0, 'deliveries per second')
  t.equal(value('fanout2.lost'), 0)
  for (const key of ['fanout2.sat.cpuUsA', 'fanout2.sat.cpuUsB', 'fanout2.sat.cpuUsRedis', 'fanout2.cpuRatio']) {
    const v = value(key)
    t.ok(v !== undefined && Number.isFinite(v) && v >= 0, `${key} was read (${String(v)})`)
  }
  const parts = ['A', 'B', 'Redis'].reduce((sum, p) => sum + (value(`fanout2.sat.cpuUs${p}`) ?? Number.NaN), 0)
  t.ok(Math.abs(parts - (value('fanout2.sat.cpuUs') ?? Number.NaN)) < 1e-6, 'A + B + Redis is the total')
})

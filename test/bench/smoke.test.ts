import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { childEnv } from '../cli.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

interface Metric { key: string, values: Record<string, number[]> }
interface Report { metrics: Metric[], warnings: string[], meta: { rounds: number } }

// The whole pipeline with `--smoke` (tiny sizes, 0.2 s phases, no settling
// pauses) against the raw ws server only, so no wsgate build: compile,
// spawn, handshakes, fan-out, report files. `npm run bench` is for load.
t.test('a smoke bench run against raw ws writes a complete report', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'wsgate-bench-smoke-'))
  t.teardown(() => { rmSync(out, { recursive: true, force: true }) })
  const args = ['--import', 'tsx', join(repo, 'scripts/bench/run.ts'), '--smoke', '--servers', 'raw', '--case', 'handshake,fanout', '--out', out]
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repo, env: childEnv(), timeout: 45_000 }, (err, so, se) => {
      if (err !== null) reject(new Error(`${err.message}\n${so}\n${se}`))
      else resolve(so)
    })
  })
  t.match(stdout, /markdown summary/)
  for (const ext of ['json', 'svg', 'md']) t.ok(existsSync(join(out, `latest.${ext}`)), `latest.${ext} written`)
  const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Report
  t.equal(report.meta.rounds, 1)
  const value = (key: string): number | undefined => report.metrics.find((m) => m.key === key)?.values.raw?.[0]
  t.ok((value('handshake.rate') ?? 0) > 0, 'handshakes per second')
  // Read from the server's /proc entry. A smoke run's window is too short for the figure to mean anything, or even to pass a 10 ms tick.
  for (const key of ['handshake.cpuUs', 'fanout.sat.cpuUs']) {
    const cpu = value(key)
    t.ok(cpu !== undefined && Number.isFinite(cpu) && cpu >= 0, `${key}: server CPU was read (${String(cpu)})`)
  }
  t.ok((value('fanout.sat.rate') ?? 0) > 0, 'deliveries per second')
  t.equal(value('fanout.lost'), 0, 'no delivery lost')
  t.same(report.warnings, [], 'no warnings: every socket opened, every message stamped and delivered')
})

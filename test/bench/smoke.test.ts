import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const repo = fileURLToPath(new URL('../..', import.meta.url))

interface Metric { key: string, values: Record<string, number[]> }
interface Report { metrics: Metric[], warnings: string[], meta: { rounds: number } }

// The whole pipeline on the smallest sizes against the raw ws server only
// (no wsgate build): compile, spawn, handshakes, fan-out, report files. ~7 s.
t.test('a tiny bench run against raw ws writes a complete report', { timeout: 50_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'wsgate-bench-smoke-'))
  t.teardown(() => { rmSync(out, { recursive: true, force: true }) })
  const args = [
    '--import', 'tsx', join(repo, 'scripts/bench/run.ts'),
    '--servers', 'raw', '--case', 'handshake,fanout', '--rounds', '1', '--handshakes', '100', '--concurrency', '20',
    '--subscribers', '20', '--seconds', '1', '--clients', '1', '--out', out
  ]
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repo, timeout: 45_000 }, (err, so, se) => {
      if (err !== null) reject(new Error(`${err.message}\n${so}\n${se}`))
      else resolve(so)
    })
  })
  t.match(stdout, /markdown summary/)
  for (const ext of ['json', 'svg', 'md']) t.ok(existsSync(join(out, `latest.${ext}`)), `latest.${ext} written`)
  const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Report
  const value = (key: string): number | undefined => report.metrics.find((m) => m.key === key)?.values.raw?.[0]
  t.ok((value('handshake.rate') ?? 0) > 0, 'handshakes per second')
  t.ok((value('handshake.cpuUs') ?? 0) > 0, 'server CPU per handshake')
  t.ok((value('fanout.sat.rate') ?? 0) > 0, 'deliveries per second')
  t.equal(value('fanout.lost'), 0, 'no delivery lost')
  t.same(report.warnings, [], 'no warnings: every socket opened, every message stamped and delivered')
})

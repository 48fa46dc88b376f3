import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parseArgs } from '../../scripts/bench/lib/args.js'
import { connectPublisher, connectSpread, measurePhase, type CaseContext } from '../../scripts/bench/lib/cases.js'
import { fanout2Case, startPair } from '../../scripts/bench/lib/cluster.js'
import { compileChildren } from '../../scripts/bench/lib/compile.js'
import { WorkerPool } from '../../scripts/bench/lib/workers.js'
import { compiled } from '../cli.js'
import { REDIS_TEST_URL } from '../services.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

// tap's process-info loader would ride along into every wsgate and load
// generator this file starts (they inherit the environment) and slow each start.
delete process.env.NODE_OPTIONS

interface Phase { sent: number, sockets: number, deliveries: number, lost: number, duplicates: number, invalid: number, drained: boolean, cpuParts: number[] }

// The fanout2 case against two compiled wsgate instances (npm run build first)
// on the machine's Redis: plumbing, not performance, so tiny sizes and 0.1 s
// phases. The one-instance figure it is compared with is made up, so that the
// ratios can be checked exactly.
t.test('fanout2 splits subscribers over two instances on Redis, delivers every message once and charges A, B and Redis', async (t) => {
  compiled('dist/src/server.js')
  mkdirSync(join(repo, 'dist'), { recursive: true })
  const buildDir = mkdtempSync(join(repo, 'dist', 'bench-test-'))
  const tmpDir = mkdtempSync(join(tmpdir(), 'wsgate-bench-fanout2-'))
  t.teardown(() => {
    rmSync(buildDir, { recursive: true, force: true })
    rmSync(tmpDir, { recursive: true, force: true })
  })
  // bcrypt's lowest cost: each start hashes the demo password and logs in once.
  const setup = { repo, buildDir, tmpDir, secret: 'fanout2-test-secret-0123456789-0123456789', wsgateEnv: { BCRYPT_COST: '4' } }
  // The instances start (one after the other) while the load generators are built.
  const [pair, pool] = await Promise.allSettled([
    startPair(setup, REDIS_TEST_URL),
    compileChildren(repo, buildDir).then(async (scripts) => await WorkerPool.start(scripts.load, 1))
  ])
  if (pair.status === 'fulfilled') t.teardown(async () => { await pair.value.stop() })
  if (pool.status === 'fulfilled') t.teardown(async () => { await pool.value.stop() })
  if (pair.status === 'rejected') throw pair.reason
  if (pool.status === 'rejected') throw pool.reason
  const ctx: CaseContext = { opts: parseArgs(['--smoke', '--subscribers', '7', '--seconds', '0.1']), pool: pool.value, scripts: { bcryptTime: '', stormClients: '', loopProbe: '' }, log: () => {} }

  const one = { cpuUs: 10, rate: 1000, rateCpuUs: 20 }
  const outcome = await fanout2Case(ctx, pair.value, one)
  t.same(outcome.warnings, [], 'every socket opened, every message delivered once')
  const details = outcome.details as { subscribers: { a: number, b: number }, steady: Phase, saturated: Phase }
  t.same(details.subscribers, { a: 4, b: 3 }, 'subscribers split over A and B')
  for (const name of ['steady', 'saturated'] as const) {
    const p = details[name]
    t.ok(p.sent >= 2, `${name}: ${p.sent} messages through both publisher sockets`)
    t.equal(p.sockets, 9, `${name}: 7 subscribers and both publisher sockets`)
    t.equal(p.deliveries, p.sent * 9, `${name}: every socket got every message`)
    t.same([p.lost, p.duplicates, p.invalid, p.drained], [0, 0, 0, true], `${name}: none lost or duplicated`)
    t.equal(p.cpuParts.length, 3, `${name}: CPU of A, B and Redis`)
  }
  const value = (key: string): number => outcome.metrics.find((m) => m.key === key)?.value ?? Number.NaN
  t.ok(value('fanout2.sat.rate') > 0, 'deliveries per second')
  t.equal(value('fanout2.lost'), 0)
  for (const key of ['fanout2.sat.cpuUsA', 'fanout2.sat.cpuUsB', 'fanout2.sat.cpuUsRedis', 'fanout2.rate.cpuUs']) {
    t.ok(Number.isFinite(value(key)) && value(key) >= 0, `${key} was read (${value(key)})`)
  }
  const total = value('fanout2.sat.cpuUs')
  t.ok(total > 0, `two processes delivering cost CPU (${total} µs per delivery)`)
  t.ok(Math.abs(value('fanout2.sat.cpuUsA') + value('fanout2.sat.cpuUsB') + value('fanout2.sat.cpuUsRedis') - total) < 1e-6, 'A + B + Redis is the total')
  t.ok(Math.abs(value('fanout2.cpuRatio') - total / one.cpuUs) < 1e-9, 'the ratio is to the one-instance figure')
  t.ok(Math.abs(value('fanout2.hopUs') - (total - one.cpuUs)) < 1e-9, 'the hop is the difference')
  t.ok(Math.abs(value('fanout2.rateRatio') - value('fanout2.sat.rate') / one.rate) < 1e-9)
  t.ok(Math.abs(value('fanout2.rate.cpuRatio') - value('fanout2.rate.cpuUs') / one.rateCpuUs) < 1e-9)
  // Each instance wrote to its sockets: some deliveries per write syscall, at most a burst's worth.
  t.ok(value('fanout2.sat.perWrite') > 0 && value('fanout2.sat.perWrite') < 100, `${value('fanout2.sat.perWrite')} deliveries per write`)

  // A phase must publish through as many sockets as it was told: two publishers, one lane expected.
  const { a, b } = pair.value
  await connectSpread(ctx, a, 1, 'sub', 1)
  await connectPublisher(ctx, a)
  await connectPublisher(ctx, b)
  const read = async (): Promise<number[]> => [a.cpu(), b.cpu()]
  await t.rejects(measurePhase(ctx, read, { mode: 'rate', rate: 20, window: 1, durationMs: 100, size: 256 }, 1), /2 socket\(s\), the phase expects 1/)
  await pool.value.closeAll()
})

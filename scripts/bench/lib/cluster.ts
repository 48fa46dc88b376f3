import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { redactUrl } from '../../../src/config.js'
import {
  check, connectPublisher, connectSpread, measurePhase, metric, phaseDetails, phaseWarnings, settle, warmUp, warmupMs,
  type CaseContext, type CaseOutcome, type CpuReader, type MetricValue
} from './cases.js'
import { writeSyscalls } from './proc.js'
import { RedisMeter } from './redis-cpu.js'
import { startServer, type RunningServer, type ServerSetup } from './servers.js'
import { sleep } from './spawn.js'
import type { Histogram } from './stats.js'
import { nowUs } from './wire.js'

/**
 * The two-instance fan-out (`fanout2`): two wsgate processes on one Redis
 * (a key prefix of their own) and one shared SQLite file, subscribers split
 * evenly over them, one publisher socket on each. What it costs to deliver a
 * message when half the subscribers are one Redis hop away.
 */

export interface Pair {
  readonly a: RunningServer
  readonly b: RunningServer
  readonly redis: RedisMeter
  readonly prefix: string
  stop: () => Promise<void>
}

/** The pair could not be started; `atStart` when a server exited while starting (the build lacks the Redis broker, say). */
export class PairStartError extends Error {
  override name = 'PairStartError'
  constructor (message: string, readonly atStart: boolean) {
    super(message)
  }
}

/** The sentence a failed start ends with: an Error line of the log tail, else its last line. */
export function startFailureReason (message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  const errorLine = lines.find((l) => /^([A-Z]\w*)?Error: /.test(l))
  const reason = errorLine?.replace(/^([A-Z]\w*)?Error: /, '') ?? lines[lines.length - 1] ?? message
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason
}

const RUN_ID = randomBytes(4).toString('hex')
let pairs = 0

/**
 * Starts A, then B: one after the other, so A alone migrates the shared
 * SQLite file and creates the demo account. `--env` wins over every
 * variable set here (DATABASE_URL=postgres://… runs the pair on Postgres).
 */
export async function startPair (setup: ServerSetup, redisUrl: string): Promise<Pair> {
  let redis: RedisMeter
  try {
    redis = await RedisMeter.open(redisUrl)
  } catch (err) {
    throw new PairStartError(`no Redis at ${redactUrl(redisUrl)}: ${(err as Error).message}`, true)
  }
  pairs++
  const prefix = `wsgate-bench:${RUN_ID}:${pairs}:`
  const wsgateEnv = {
    DATABASE_URL: `sqlite:${join(setup.tmpDir, `pair-${pairs}.db`)}`,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    ...setup.wsgateEnv
  }
  const started: RunningServer[] = []
  const cleanUp = async (): Promise<void> => {
    await Promise.all(started.map(async (s) => { await s.stop() }))
    await redis.deletePrefix(prefix).catch(() => 0)
    redis.close()
  }
  try {
    for (let i = 0; i < 2; i++) started.push(await startServer('wsgate', { ...setup, wsgateEnv }))
  } catch (err) {
    await cleanUp()
    const message = (err as Error).message
    throw new PairStartError(startFailureReason(message), message.includes('exited during start'))
  }
  const [a, b] = started as [RunningServer, RunningServer]
  return { a, b, redis, prefix, stop: cleanUp }
}

/** The one-instance wsgate fan-out of the same round, which the pair is compared with. */
export interface OneInstance {
  /** CPU µs per delivery, saturated. */
  readonly cpuUs: number
  readonly rate: number
  /** CPU µs per delivery at --rate msg/s, where neither side has a burst to coalesce. */
  readonly rateCpuUs?: number
}

/** Redis's CPU, in cores, over a quiet second: other clients of a shared Redis, charged to every delivery below. */
async function redisBackground (pair: Pair): Promise<number> {
  const r0 = await pair.redis.seconds()
  const t0 = nowUs()
  await sleep(1000)
  return (await pair.redis.seconds() - r0) / ((nowUs() - t0) / 1e6)
}

export async function fanout2Case (ctx: CaseContext, pair: Pair, one: OneInstance | undefined): Promise<CaseOutcome> {
  const { subscribers, size, rate, window, seconds, smoke } = ctx.opts
  const warnings: string[] = []
  await warmUp(ctx, pair.a)
  await warmUp(ctx, pair.b)
  const onA = Math.ceil(subscribers / 2)
  const [subsA, subsB] = await Promise.all([
    connectSpread(ctx, pair.a, onA, 'sub', 100),
    connectSpread(ctx, pair.b, subscribers - onA, 'sub', 100)
  ])
  check(warnings, 'fan-out, instance A', subsA, onA)
  check(warnings, 'fan-out, instance B', subsB, subscribers - onA)
  await connectPublisher(ctx, pair.a)
  await connectPublisher(ctx, pair.b)
  await settle(ctx, 300)
  const idleRedis = smoke ? Number.NaN : await redisBackground(pair)
  if (idleRedis > 0.02) warnings.push(`fan-out, 2 instances: Redis used ${(idleRedis * 100).toFixed(1)}% of a core with the bench idle (other clients); its figure includes that`)
  const read: CpuReader = async () => [pair.a.cpu(), pair.b.cpu(), await pair.redis.seconds()]
  const durationMs = seconds * 1000
  await measurePhase(ctx, read, { mode: 'window', rate, window, durationMs: warmupMs(ctx.opts), size }, 2)
  const steady = await measurePhase(ctx, read, { mode: 'rate', rate, window, durationMs, size }, 2)
  // Saturated fan-out CPU follows write syscalls (a corked socket takes one write
  // per burst): deliveries per write tells lost coalescing from the hop's own cost.
  const writes = (): number => writeSyscalls(pair.a.pid) + writeSyscalls(pair.b.pid)
  const writes0 = writes()
  const saturated = await measurePhase(ctx, read, { mode: 'window', rate, window, durationMs, size }, 2)
  const satWrites = writes() - writes0
  await ctx.pool.closeAll()
  phaseWarnings(warnings, `fan-out, 2 instances, at ${rate}/s`, steady)
  phaseWarnings(warnings, 'fan-out, 2 instances, at saturation', saturated)
  const perDelivery = (cpu: number | undefined): number => ((cpu ?? Number.NaN) * 1e6) / saturated.deliveries
  const [cpuA, cpuB, cpuRedis] = saturated.cpuParts
  const totalUs = perDelivery(saturated.cpuSeconds)
  const rateUs = (steady.cpuSeconds * 1e6) / steady.deliveries
  const delivered = saturated.deliveries / saturated.seconds
  const ms = (h: Histogram, q: number): number => h.quantile(q) / 1000
  const metrics: MetricValue[] = [
    metric('fanout2.sat.rate', `fan-out, 2 instances on Redis: delivered msg/s at saturation (${window} in flight)`, 'msg/s', 'higher', 0, delivered),
    metric('fanout2.sat.cpuUs', 'fan-out, 2 instances: CPU per delivery, A + B + Redis', 'µs', 'lower', 2, totalUs),
    metric('fanout2.sat.cpuUsA', 'fan-out, 2 instances: instance A CPU per delivery', 'µs', 'lower', 2, perDelivery(cpuA)),
    metric('fanout2.sat.cpuUsB', 'fan-out, 2 instances: instance B CPU per delivery', 'µs', 'lower', 2, perDelivery(cpuB)),
    metric('fanout2.sat.cpuUsRedis', 'fan-out, 2 instances: Redis CPU per delivery', 'µs', 'lower', 2, perDelivery(cpuRedis)),
    metric('fanout2.sat.perWrite', 'fan-out, 2 instances: deliveries per write syscall of A and B, saturated', 'count', 'higher', 2, saturated.deliveries / satWrites),
    metric('fanout2.rate.cpuUs', `fan-out, 2 instances: CPU per delivery at ${rate} msg/s, A + B + Redis`, 'µs', 'lower', 2, rateUs),
    metric('fanout2.rate.p99Ms', `fan-out, 2 instances: p99 latency at ${rate} msg/s`, 'ms', 'lower', 2, ms(steady.latencyUs, 0.99)),
    metric('fanout2.lost', 'fan-out, 2 instances: lost deliveries', 'count', 'lower', 0, steady.lost + saturated.lost)
  ]
  if (one !== undefined) {
    metrics.push(
      metric('fanout2.cpuRatio', 'fan-out, 2 instances: CPU per delivery ÷ 1 instance', '×', 'lower', 2, totalUs / one.cpuUs),
      metric('fanout2.hopUs', 'fan-out, 2 instances: the Redis hop per delivery (2 instances − 1)', 'µs', 'lower', 2, totalUs - one.cpuUs),
      metric('fanout2.rateRatio', 'fan-out, 2 instances: msg/s ÷ 1 instance', '×', 'higher', 2, delivered / one.rate)
    )
    if (one.rateCpuUs !== undefined) {
      metrics.push(metric('fanout2.rate.cpuRatio', `fan-out, 2 instances: CPU per delivery at ${rate} msg/s ÷ 1 instance`, '×', 'lower', 2, rateUs / one.rateCpuUs))
    }
  }
  return {
    metrics,
    details: {
      subscribers: { a: subsA.opened, b: subsB.opened },
      redis: { source: pair.redis.source, pid: pair.redis.pid, prefix: pair.prefix, idleCores: idleRedis },
      cpuParts: ['a', 'b', 'redis'],
      oneInstance: one ?? null,
      steady: { ...phaseDetails(steady), cpuParts: steady.cpuParts },
      saturated: { ...phaseDetails(saturated), cpuParts: saturated.cpuParts }
    },
    warnings
  }
}

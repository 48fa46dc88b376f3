import { availableParallelism } from 'node:os'
import type { Options } from './args.js'
import { writeSyscalls } from './proc.js'
import type { ConnectResult, PublishArgs } from './protocol.js'
import type { RunningServer } from './servers.js'
import { BENCH_PASSWORD, BENCH_USER } from './servers.js'
import { sleep, spawnNode } from './spawn.js'
import { Histogram, median } from './stats.js'
import { nowUs } from './wire.js'
import { shares, type WorkerPool } from './workers.js'

/** One measured figure of one server in one round. */
export interface MetricValue {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly better: 'lower' | 'higher' | 'none'
  readonly digits: number
  readonly value: number
}

export interface CaseOutcome {
  readonly metrics: MetricValue[]
  /** Raw figures for the JSON file. */
  readonly details: Record<string, unknown>
  readonly warnings: string[]
}

export interface CaseContext {
  readonly opts: Options
  readonly pool: WorkerPool
  readonly scripts: { readonly bcryptTime: string, readonly stormClients: string, readonly loopProbe: string }
  readonly log: (line: string) => void
}

/** CPU is read over windows of at least this long: /proc counts in 10 ms ticks. */
const MIN_WINDOW_US = 1_000_000
const CONNECT_TIMEOUT_MS = 20_000
const DRAIN_TIMEOUT_MS = 10_000
const WARMUP_SOCKETS = 100

/**
 * A pause that lets the server settle before a measurement. A --smoke run
 * skips them: it checks that the pipeline runs, and its figures mean nothing.
 */
export async function settle (ctx: CaseContext, ms: number): Promise<void> {
  if (!ctx.opts.smoke) await sleep(ms)
}

/** A warm-up phase's length; a --smoke run's phases are all `--seconds` long. */
export function warmupMs (opts: Options): number {
  return opts.smoke ? opts.seconds * 1000 : opts.quick ? 300 : 500
}

export function metric (key: string, label: string, unit: string, better: MetricValue['better'], digits: number, value: number): MetricValue {
  return { key, label, unit, better, digits, value }
}

export function failureText (failures: Readonly<Record<string, number>>): string {
  return Object.entries(failures).map(([why, n]) => `${n}× ${why}`).join(', ')
}

/** Opens n sockets spread over the socket workers; one merged result. */
export async function connectSpread (ctx: CaseContext, server: RunningServer, n: number, group: string, concurrency: number): Promise<ConnectResult> {
  const workers = ctx.pool.sockets
  const counts = shares(n, workers.length)
  const perWorker = Math.max(1, Math.ceil(concurrency / workers.length))
  const results = await Promise.all(workers.map(async (w, i) => await w.request('connect', {
    target: server.target, count: counts[i] ?? 0, concurrency: perWorker, group, timeoutMs: CONNECT_TIMEOUT_MS
  })))
  const failures: Record<string, number> = {}
  for (const r of results) for (const [why, k] of Object.entries(r.failures)) failures[why] = (failures[why] ?? 0) + k
  const active = results.filter((r) => r.opened > 0)
  return {
    opened: results.reduce((s, r) => s + r.opened, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    startUs: Math.min(...results.map((r) => r.startUs)),
    endUs: active.length === 0 ? Math.min(...results.map((r) => r.startUs)) : Math.max(...active.map((r) => r.endUs)),
    failures,
    openNow: results.reduce((s, r) => s + r.openNow, 0)
  }
}

export async function connectPublisher (ctx: CaseContext, server: RunningServer): Promise<void> {
  const r = await ctx.pool.pub.request('connect', { target: server.target, count: 1, concurrency: 1, group: 'pub', timeoutMs: CONNECT_TIMEOUT_MS })
  if (r.opened !== 1) throw new Error(`publisher could not connect to ${server.name}: ${failureText(r.failures)}`)
}

/** Opens and closes a few sockets so the server's lazy paths are loaded and compiled. */
export async function warmUp (ctx: CaseContext, server: RunningServer): Promise<void> {
  await connectSpread(ctx, server, ctx.opts.smoke ? 10 : WARMUP_SOCKETS, 'warm', 50)
  await ctx.pool.closeAll()
  await settle(ctx, 200)
}

export function check (warnings: string[], what: string, r: ConnectResult, wanted: number): void {
  if (r.opened < wanted) warnings.push(`${what}: ${r.opened}/${wanted} sockets opened (${failureText(r.failures)})`)
}

// --- publish phases ----------------------------------------------------------

let phaseCounter = 0

export interface PhaseOutcome {
  readonly sent: number
  readonly sockets: number
  readonly deliveries: number
  readonly lost: number
  readonly duplicates: number
  readonly invalid: number
  readonly firstProblem: string | undefined
  readonly latencyUs: Histogram
  readonly cpuSeconds: number
  /** CPU seconds of each measured process, in the CpuReader's order; they sum to cpuSeconds. */
  readonly cpuParts: number[]
  /** From the first publish to the last delivery. */
  readonly seconds: number
  readonly drained: boolean
  readonly closedDuring: Record<string, number>
}

/** CPU seconds so far of each process a phase is charged to, in a fixed order. */
export type CpuReader = () => Promise<number[]>

/** One publish phase against one server, charged to its process. */
export async function runPhase (ctx: CaseContext, server: RunningServer, args: Omit<PublishArgs, 'phase' | 'group'>): Promise<PhaseOutcome> {
  return await measurePhase(ctx, async () => [server.cpu()], args)
}

/**
 * One publish phase: every open socket is tracked, the publisher sends (at a
 * rate, or keeping `window` messages in flight behind the slowest socket)
 * through each of its `lanes` sockets in turn, then the runner waits until
 * every socket has every message. CPU is read just before the first publish
 * and just after the last delivery.
 */
export async function measurePhase (ctx: CaseContext, readCpu: CpuReader, args: Omit<PublishArgs, 'phase' | 'group'>, lanes = 1): Promise<PhaseOutcome> {
  const phase = ++phaseCounter
  const workers = ctx.pool.all
  const tracked = await Promise.all(workers.map(async (w) => await w.request('track', { phase, size: args.size, lanes, ...(args.channel === undefined ? {} : { channel: args.channel }) })))
  const participants = workers.filter((_, i) => (tracked[i]?.tracked ?? 0) > 0)
  const marks = new Map(participants.map((w) => [w, 0]))
  let global = 0
  let target = Number.POSITIVE_INFINITY
  let onDrained: (() => void) | undefined
  const offs = participants.map((w) => w.onWatermark((m) => {
    if (m.phase !== phase) return
    marks.set(w, Math.max(marks.get(w) ?? 0, m.value))
    const lowest = Math.min(...marks.values())
    if (lowest > global) {
      global = lowest
      ctx.pool.pub.notify({ type: 'watermark', phase, value: lowest })
      if (global >= target) onDrained?.()
    }
  }))
  const cpu0 = await readCpu()
  const pub = await ctx.pool.pub.request('publish', { ...args, phase, group: 'pub' })
  target = pub.sent
  const drained = global >= target || await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, DRAIN_TIMEOUT_MS)
    onDrained = () => {
      clearTimeout(timer)
      resolve(true)
    }
  })
  const cpu1 = await readCpu()
  const cpuParts = cpu1.map((value, i) => value - (cpu0[i] ?? Number.NaN))
  for (const off of offs) off()
  if (pub.lanes !== lanes) throw new Error(`the publisher sent through ${pub.lanes} socket(s), the phase expects ${lanes}`)
  const reports = await Promise.all(participants.map(async (w) => await w.request('collect', { phase, sent: pub.sent })))
  const latencyUs = new Histogram()
  const closedDuring: Record<string, number> = {}
  let lastUs = pub.startUs
  for (const r of reports) {
    latencyUs.merge(r.latencyUs)
    if (r.lastReceiveUs > lastUs) lastUs = r.lastReceiveUs
    for (const [why, n] of Object.entries(r.closedDuring)) closedDuring[why] = (closedDuring[why] ?? 0) + n
  }
  return {
    sent: pub.sent,
    sockets: reports.reduce((s, r) => s + r.sockets, 0),
    deliveries: reports.reduce((s, r) => s + r.received, 0),
    lost: reports.reduce((s, r) => s + r.lost, 0),
    duplicates: reports.reduce((s, r) => s + r.duplicates, 0),
    invalid: reports.reduce((s, r) => s + r.invalid, 0),
    firstProblem: reports.find((r) => r.firstProblem !== undefined)?.firstProblem,
    latencyUs,
    cpuSeconds: cpuParts.reduce((a, b) => a + b, 0),
    cpuParts,
    seconds: (lastUs - pub.startUs) / 1e6,
    drained,
    closedDuring
  }
}

export function phaseDetails (p: PhaseOutcome): Record<string, unknown> {
  return {
    sent: p.sent,
    sockets: p.sockets,
    deliveries: p.deliveries,
    lost: p.lost,
    duplicates: p.duplicates,
    invalid: p.invalid,
    firstProblem: p.firstProblem,
    drained: p.drained,
    closedDuring: p.closedDuring,
    seconds: p.seconds,
    cpuSeconds: p.cpuSeconds,
    deliveriesPerSecond: p.deliveries / p.seconds,
    cpuUsPerDelivery: (p.cpuSeconds * 1e6) / p.deliveries,
    latencyMs: { p50: p.latencyUs.quantile(0.5) / 1000, p90: p.latencyUs.quantile(0.9) / 1000, p99: p.latencyUs.quantile(0.99) / 1000, max: p.latencyUs.max / 1000, samples: p.latencyUs.count }
  }
}

export function phaseWarnings (warnings: string[], what: string, p: PhaseOutcome): void {
  if (p.lost > 0 || !p.drained) warnings.push(`${what}: ${p.lost} deliveries lost of ${p.sent * p.sockets}${p.drained ? '' : ' (did not drain)'}`)
  if (p.duplicates > 0) warnings.push(`${what}: ${p.duplicates} duplicate or out-of-order deliveries`)
  if (p.invalid > 0) warnings.push(`${what}: ${p.invalid} sockets got a badly stamped message: ${p.firstProblem ?? ''}`)
  const closed = Object.entries(p.closedDuring)
  if (closed.length > 0) warnings.push(`${what}: sockets closed by the server: ${closed.map(([why, n]) => `${n}× ${why}`).join(', ')}`)
}

// --- cases -------------------------------------------------------------------

interface HandshakeFigures {
  readonly metrics: MetricValue[]
  readonly details: Record<string, unknown>
}

/**
 * Opens `n` authenticated connections (beyond those already open), as fast
 * as `concurrency` allows. Server CPU is read over a window of at least a
 * second that ends once the last socket has its welcome message.
 */
async function measureHandshakes (ctx: CaseContext, server: RunningServer, n: number, group: string, warnings: string[]): Promise<HandshakeFigures> {
  const cpu0 = server.cpu()
  const t0 = nowUs()
  const r = await connectSpread(ctx, server, n, group, ctx.opts.concurrency)
  // A --smoke run reads whatever CPU the handshakes took, however little.
  if (!ctx.opts.smoke) await sleep(Math.max(100_000, t0 + MIN_WINDOW_US - nowUs()) / 1000)
  const cpu1 = server.cpu()
  check(warnings, 'handshake', r, n)
  const seconds = (r.endUs - r.startUs) / 1e6
  return {
    metrics: [
      metric('handshake.rate', 'handshakes: connections/s', 'conn/s', 'higher', 0, r.opened / seconds),
      metric('handshake.cpuUs', 'handshakes: server CPU per connection', 'µs', 'lower', 0, ((cpu1 - cpu0) * 1e6) / r.opened)
    ],
    details: { opened: r.opened, failed: r.failed, failures: r.failures, seconds, cpuSeconds: cpu1 - cpu0 }
  }
}

async function sampleRss (server: RunningServer): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < 3; i++) {
    samples.push(server.rssKb())
    await sleep(50)
  }
  return median(samples)
}

/**
 * The handshake and memory cases share their sockets when both run: the
 * first --handshakes connections are the timed handshakes, and they stay
 * open as the first idle sockets whose RSS is measured at each count of
 * --memory. Each alone works the same way without the other's figures.
 */
export async function connectionsCase (ctx: CaseContext, server: RunningServer, want: { handshake: boolean, memory: boolean }): Promise<CaseOutcome> {
  const warnings: string[] = []
  const metrics: MetricValue[] = []
  const details: Record<string, unknown> = {}
  const steps = want.memory ? ctx.opts.memory : []
  await warmUp(ctx, server)
  let baseKb = Number.NaN
  let baseHeapKb = Number.NaN
  if (want.memory) {
    await settle(ctx, 300)
    if (!await server.collectGarbage()) warnings.push('memory: no inspector, RSS is read without a full GC')
    await settle(ctx, 300)
    baseKb = await sampleRss(server)
    baseHeapKb = await server.heapKb()
  }
  let open = 0
  if (want.handshake) {
    const hs = await measureHandshakes(ctx, server, ctx.opts.handshakes, 'idle', warnings)
    metrics.push(...hs.metrics)
    details.handshake = hs.details
    open = (hs.details.opened as number | undefined) ?? 0
  }
  const memorySteps: Array<Record<string, number>> = []
  for (const n of steps) {
    if (n > open) {
      const r = await connectSpread(ctx, server, n - open, 'idle', ctx.opts.concurrency)
      check(warnings, `memory at ${n}`, r, n - open)
      open += r.opened
    }
    if (open > n) warnings.push(`memory at ${n}: measured with ${open} sockets open (--handshakes is larger)`)
    await settle(ctx, ctx.opts.quick ? 600 : 1000)
    // As found (garbage of the handshakes included), then after a full GC.
    const rssFoundKb = await sampleRss(server)
    await server.collectGarbage()
    await settle(ctx, 300)
    const rssKb = await sampleRss(server)
    const heapKb = await server.heapKb()
    const step = {
      sockets: open,
      rssKb,
      rssFoundKb,
      heapKb,
      kbPerSocket: (rssKb - baseKb) / open,
      kbPerSocketFound: (rssFoundKb - baseKb) / open,
      heapKbPerSocket: (heapKb - baseHeapKb) / open
    }
    memorySteps.push(step)
    const at = n.toLocaleString('en-US')
    metrics.push(metric(`memory.kb@${n}`, `memory: RSS per idle socket at ${at}, after full GC`, 'KiB', 'lower', 1, step.kbPerSocket))
    metrics.push(metric(`memory.kbFound@${n}`, `memory: RSS per idle socket at ${at}, as found (no forced GC)`, 'KiB', 'lower', 1, step.kbPerSocketFound))
    metrics.push(metric(`memory.heapKb@${n}`, `memory: V8 heap per idle socket at ${at}, after full GC`, 'KiB', 'lower', 1, step.heapKbPerSocket))
  }
  if (want.memory) {
    const cpu0 = server.cpu()
    const t0 = nowUs()
    await sleep(ctx.opts.smoke ? ctx.opts.seconds * 1000 : ctx.opts.quick ? 1000 : 2000)
    const idleCpu = (server.cpu() - cpu0) / ((nowUs() - t0) / 1e6)
    metrics.push(metric('memory.idleCpu', `memory: idle server CPU with ${open.toLocaleString('en-US')} sockets`, '% core', 'lower', 2, idleCpu * 100))
    details.memory = { baseKb, baseHeapKb, steps: memorySteps, idleCpuCores: idleCpu }
  }
  await ctx.pool.closeAll()
  return { metrics, details, warnings }
}

export async function handshakeCase (ctx: CaseContext, server: RunningServer): Promise<CaseOutcome> {
  return await connectionsCase(ctx, server, { handshake: true, memory: false })
}

export async function memoryCase (ctx: CaseContext, server: RunningServer): Promise<CaseOutcome> {
  return await connectionsCase(ctx, server, { handshake: false, memory: true })
}

/** 1 publisher, N subscribers: latency at a fixed rate, then throughput at saturation. */
export async function fanoutCase (ctx: CaseContext, server: RunningServer): Promise<CaseOutcome> {
  const { subscribers, size, rate, window, seconds } = ctx.opts
  const warnings: string[] = []
  await warmUp(ctx, server)
  const subs = await connectSpread(ctx, server, subscribers, 'sub', 200)
  check(warnings, 'fan-out', subs, subscribers)
  await connectPublisher(ctx, server)
  await settle(ctx, 300)
  const durationMs = seconds * 1000
  await runPhase(ctx, server, { mode: 'window', rate, window, durationMs: warmupMs(ctx.opts), size })
  const steady = await runPhase(ctx, server, { mode: 'rate', rate, window, durationMs, size })
  const writes0 = writeSyscalls(server.pid)
  const saturated = await runPhase(ctx, server, { mode: 'window', rate, window, durationMs, size })
  const writes = writeSyscalls(server.pid) - writes0
  await ctx.pool.closeAll()
  phaseWarnings(warnings, `fan-out at ${rate}/s`, steady)
  phaseWarnings(warnings, 'fan-out at saturation', saturated)
  const ms = (h: Histogram, q: number): number => h.quantile(q) / 1000
  return {
    metrics: [
      metric('fanout.sat.rate', `fan-out: delivered msg/s at saturation (${window} in flight)`, 'msg/s', 'higher', 0, saturated.deliveries / saturated.seconds),
      metric('fanout.sat.cpuUs', 'fan-out: server CPU per delivery, saturated', 'µs', 'lower', 2, (saturated.cpuSeconds * 1e6) / saturated.deliveries),
      metric('fanout.rate.cpuUs', `fan-out: server CPU per delivery at ${rate} msg/s`, 'µs', 'lower', 2, (steady.cpuSeconds * 1e6) / steady.deliveries),
      metric('fanout.sat.perWrite', 'fan-out: deliveries per write syscall, saturated', 'count', 'higher', 2, saturated.deliveries / writes),
      metric('fanout.rate.p50Ms', `fan-out: p50 latency at ${rate} msg/s`, 'ms', 'lower', 2, ms(steady.latencyUs, 0.5)),
      metric('fanout.rate.p99Ms', `fan-out: p99 latency at ${rate} msg/s`, 'ms', 'lower', 2, ms(steady.latencyUs, 0.99)),
      metric('fanout.sat.p99Ms', 'fan-out: p99 latency, saturated', 'ms', 'lower', 1, ms(saturated.latencyUs, 0.99)),
      metric('fanout.lost', 'fan-out: lost deliveries', 'count', 'lower', 0, steady.lost + saturated.lost)
    ],
    details: { subscribers: subs.opened, steady: phaseDetails(steady), saturated: phaseDetails(saturated) },
    warnings
  }
}

/** p99 fan-out latency to N sockets while /token is hammered with wrong passwords, ÷ the same without. */
export async function stormCase (ctx: CaseContext, server: RunningServer): Promise<CaseOutcome> {
  const { stormSockets, stormRate, stormConcurrency, size, seconds } = ctx.opts
  const warnings: string[] = []
  await warmUp(ctx, server)
  const subs = await connectSpread(ctx, server, stormSockets, 'sub', 200)
  check(warnings, 'storm', subs, stormSockets)
  await connectPublisher(ctx, server)
  await settle(ctx, 300)
  const durationMs = seconds * 1000
  const phase = { mode: 'rate' as const, rate: stormRate, window: 1, durationMs, size }
  await runPhase(ctx, server, { ...phase, durationMs: warmupMs(ctx.opts) })
  const idle = await runPhase(ctx, server, phase)
  const stormPromise = ctx.pool.http.request('http', {
    url: `${server.httpUrl}/token`,
    body: new URLSearchParams({ username: BENCH_USER, password: 'not-the-password' }).toString(),
    contentType: 'application/x-www-form-urlencoded',
    concurrency: stormConcurrency,
    durationMs: durationMs + (ctx.opts.smoke ? 0 : 700)
  })
  // Let the bcrypt queue fill before the measured phase starts.
  await settle(ctx, 400)
  const stormed = await runPhase(ctx, server, phase)
  const storm = await stormPromise
  await ctx.pool.closeAll()
  phaseWarnings(warnings, 'storm (idle phase)', idle)
  phaseWarnings(warnings, 'storm (storm phase)', stormed)
  const refused = storm.statuses['401'] ?? 0
  if (refused < storm.requests * 0.9) {
    warnings.push(`storm: only ${refused}/${storm.requests} attempts reached bcrypt (401); statuses ${JSON.stringify(storm.statuses)}`)
  }
  const stormSeconds = (storm.endUs - storm.startUs) / 1e6
  const p99Idle = idle.latencyUs.quantile(0.99) / 1000
  const p99Storm = stormed.latencyUs.quantile(0.99) / 1000
  return {
    metrics: [
      metric('storm.p99IdleMs', `login storm: p99 latency to ${stormSockets} sockets, no storm`, 'ms', 'lower', 2, p99Idle),
      metric('storm.p99StormMs', `login storm: p99 latency to ${stormSockets} sockets, storm`, 'ms', 'lower', 2, p99Storm),
      metric('storm.ratio', 'login storm: p99 ÷ idle p99', '×', 'lower', 2, p99Storm / p99Idle),
      metric('storm.attempts', 'login storm: wrong-password attempts/s', 'req/s', 'none', 1, storm.requests / stormSeconds)
    ],
    details: { idle: phaseDetails(idle), storm: phaseDetails(stormed), http: { requests: storm.requests, statuses: storm.statuses, seconds: stormSeconds } },
    warnings
  }
}

export interface BcryptTiming {
  readonly cost: number
  /** CPU time of one compare: what a core can do, whatever else runs. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly samplesCpuMs: readonly number[]
}

/** One bcrypt compare at the server's cost, timed in a process of its own. */
export async function timeBcrypt (script: string, cost: number, iterations: number): Promise<BcryptTiming> {
  const child = spawnNode(script, [String(cost), String(iterations)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve) })
  if (code !== 0) throw new Error(`bcrypt timer exited with ${code}`)
  return JSON.parse(out) as BcryptTiming
}

/**
 * Successful logins per second ÷ (cores ÷ one bcrypt's CPU time), and the
 * server's CPU per login ÷ one bcrypt's CPU time (1.0: a login costs
 * nothing but its bcrypt).
 */
export async function tokenCase (ctx: CaseContext, server: RunningServer): Promise<CaseOutcome> {
  const { tokenConcurrency, seconds, bcryptCost, quick, smoke } = ctx.opts
  const warnings: string[] = []
  const bcrypt = await timeBcrypt(ctx.scripts.bcryptTime, bcryptCost, smoke ? 1 : quick ? 5 : 12)
  const body = new URLSearchParams({ username: BENCH_USER, password: BENCH_PASSWORD }).toString()
  const hammer = { url: `${server.httpUrl}/token`, body, contentType: 'application/x-www-form-urlencoded', concurrency: tokenConcurrency }
  await ctx.pool.http.request('http', { ...hammer, durationMs: smoke ? seconds * 1000 : 300 })
  await settle(ctx, 200)
  const cpu0 = server.cpu()
  const r = await ctx.pool.http.request('http', { ...hammer, durationMs: smoke ? seconds * 1000 : Math.max(1000, seconds * 1000) })
  const cpu1 = server.cpu()
  const ok = r.statuses['200'] ?? 0
  if (ok < r.requests) warnings.push(`token: ${r.requests - ok}/${r.requests} logins failed: ${JSON.stringify(r.statuses)}`)
  const wall = (r.endUs - r.startUs) / 1e6
  const cores = availableParallelism()
  const limit = cores / (bcrypt.cpuMs / 1000)
  const rate = ok / wall
  const cpuMsPerLogin = ((cpu1 - cpu0) * 1000) / r.requests
  return {
    metrics: [
      metric('token.rate', '/token: successful logins/s', 'login/s', 'higher', 1, rate),
      metric('token.bcryptMs', `/token: CPU time of one bcrypt compare at cost ${bcrypt.cost} (bcryptjs, own process)`, 'ms', 'none', 1, bcrypt.cpuMs),
      metric('token.limit', `/token: bcrypt limit (${cores} cores ÷ bcrypt time)`, 'login/s', 'none', 1, limit),
      metric('token.ratio', '/token: logins/s ÷ bcrypt limit', '×', 'higher', 2, rate / limit),
      metric('token.cpuMs', '/token: server CPU per login', 'ms', 'lower', 1, cpuMsPerLogin),
      metric('token.cpuRatio', '/token: server CPU per login ÷ bcrypt CPU', '×', 'lower', 2, cpuMsPerLogin / bcrypt.cpuMs)
    ],
    details: { requests: r.requests, statuses: r.statuses, seconds: wall, cpuSeconds: cpu1 - cpu0, bcrypt, cores, latencyMs: { p50: r.latencyUs.count > 0 ? Histogram.from(r.latencyUs).quantile(0.5) / 1000 : null } },
    warnings
  }
}

import type { CaseContext, PhaseOutcome } from './cases.js'
import { connectSpread, connectPublisher, runPhase, warmUp } from './cases.js'
import { formatNumber } from './report.js'
import { startServer, type ServerSetup } from './servers.js'
import { freePort, sleep } from './spawn.js'
import { lineChartSvg } from './svg.js'
import { nowUs } from './wire.js'

export interface SoakSample {
  /** Seconds since the soak started. */
  readonly t: number
  readonly stage: string
  readonly sockets: number
  readonly rssMb: number
  readonly heapUsedMb: number
  readonly heapTotalMb: number
  /** True when a full GC ran right before this sample. */
  readonly afterGc: boolean
}

export interface SoakResult {
  readonly samples: SoakSample[]
  readonly start: SoakSample
  readonly loaded: SoakSample
  readonly end: SoakSample
  readonly peakRssMb: number
  readonly rssKbPerSocket: number
  readonly heapReturn: number
  readonly rssReturn: number
  readonly heapReturned: boolean
  readonly sockets: number
  readonly connectSeconds: number
  readonly trickle: PhaseSummary
  readonly warnings: string[]
}

interface PhaseSummary {
  readonly sent: number
  readonly deliveries: number
  readonly lost: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly cpuUsPerDelivery: number
  readonly cpuCores: number
}

function summarizePhase (p: PhaseOutcome): PhaseSummary {
  return {
    sent: p.sent,
    deliveries: p.deliveries,
    lost: p.lost,
    p50Ms: p.latencyUs.quantile(0.5) / 1000,
    p99Ms: p.latencyUs.quantile(0.99) / 1000,
    maxMs: p.latencyUs.max / 1000,
    cpuUsPerDelivery: (p.cpuSeconds * 1e6) / p.deliveries,
    cpuCores: p.cpuSeconds / p.seconds
  }
}

/**
 * 10 000 idle authenticated sockets to wsgate and a trickle of broadcasts for
 * --minutes, sampling RSS (/proc) and the V8 heap (inspector). Then every
 * socket closes, a full GC runs, and the heap is compared with the start.
 */
export async function runSoak (ctx: CaseContext, setup: ServerSetup): Promise<SoakResult> {
  const { sockets, trickle, minutes, sampleSeconds, size } = ctx.opts
  const warnings: string[] = []
  const inspectPort = await freePort()
  const server = await startServer('wsgate', setup, { inspectPort })
  const inspector = server.inspector
  if (inspector === undefined) throw new Error('soak needs the inspector')
  const samples: SoakSample[] = []
  const t0 = nowUs()
  let open = 0
  const sample = async (stage: string, gc = false): Promise<SoakSample> => {
    if (gc) await inspector.collectGarbage()
    const heap = await inspector.heap()
    const s: SoakSample = {
      t: (nowUs() - t0) / 1e6,
      stage,
      sockets: open,
      rssMb: server.rssKb() / 1024,
      heapUsedMb: heap.usedSize / 2 ** 20,
      heapTotalMb: heap.totalSize / 2 ** 20,
      afterGc: gc
    }
    samples.push(s)
    ctx.log(`  ${s.t.toFixed(0).padStart(5)} s  ${stage.padEnd(12)} sockets ${String(open).padStart(6)}  RSS ${s.rssMb.toFixed(1)} MiB  heap ${s.heapUsedMb.toFixed(1)} MiB${gc ? ' (after GC)' : ''}`)
    return s
  }
  try {
    await warmUp(ctx, server)
    await sleep(1000)
    const start = await sample('start', true)
    const c0 = nowUs()
    const r = await connectSpread(ctx, server, sockets, 'soak', 200)
    const connectSeconds = (nowUs() - c0) / 1e6
    open = r.opened
    if (r.opened < sockets) warnings.push(`soak: ${r.opened}/${sockets} sockets opened: ${JSON.stringify(r.failures)}`)
    await connectPublisher(ctx, server)
    open++
    await sleep(1000)
    const loaded = await sample('open')
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await sleep(sampleSeconds * 1000)
        if (sampling) await sample('trickle')
      }
    })()
    const phase = await runPhase(ctx, server, { mode: 'rate', rate: trickle, window: 1, durationMs: minutes * 60_000, size })
    sampling = false
    await sampler
    if (phase.lost > 0) warnings.push(`soak: ${phase.lost} deliveries lost of ${phase.sent * phase.sockets}`)
    const closed = Object.entries(phase.closedDuring)
    if (closed.length > 0) warnings.push(`soak: sockets closed by the server: ${JSON.stringify(phase.closedDuring)}`)
    await sample('trickle end')
    await ctx.pool.closeAll()
    open = 0
    await sleep(1000)
    await sample('closed')
    await sleep(4000)
    await sample('closed +5 s', true)
    await sleep(5000)
    const end = await sample('end', true)
    const peakRssMb = Math.max(...samples.map((s) => s.rssMb))
    const heapReturn = end.heapUsedMb / start.heapUsedMb
    return {
      samples,
      start,
      loaded,
      end,
      peakRssMb,
      rssKbPerSocket: ((loaded.rssMb - start.rssMb) * 1024) / Math.max(1, r.opened),
      heapReturn,
      rssReturn: end.rssMb / start.rssMb,
      heapReturned: heapReturn <= 1.1,
      sockets: r.opened,
      connectSeconds,
      trickle: summarizePhase(phase),
      warnings
    }
  } finally {
    await ctx.pool.closeAll().catch(() => {})
    await server.stop()
  }
}

export function soakMarkdown (title: string, r: SoakResult, settings: string): string {
  const mb = (v: number): string => `${formatNumber(v, 1)} MiB`
  return [
    `### ${title}`,
    '',
    settings,
    '',
    '| | start (after GC) | ' + `${r.sockets.toLocaleString('en-US')} sockets open` + ' | peak | end: sockets closed, after GC | end ÷ start |',
    '|---|---:|---:|---:|---:|---:|',
    `| V8 heap used | ${mb(r.start.heapUsedMb)} | ${mb(r.loaded.heapUsedMb)} | ${mb(Math.max(...r.samples.map((s) => s.heapUsedMb)))} | ${mb(r.end.heapUsedMb)} | ${formatNumber(r.heapReturn, 2)}× |`,
    `| RSS | ${mb(r.start.rssMb)} | ${mb(r.loaded.rssMb)} | ${mb(r.peakRssMb)} | ${mb(r.end.rssMb)} | ${formatNumber(r.rssReturn, 2)}× |`,
    '',
    `Heap back within 10 % of its start: **${r.heapReturned ? 'yes' : 'no'}** (${formatNumber((r.heapReturn - 1) * 100, 1)} %). ` +
      `RSS per idle socket ${formatNumber(r.rssKbPerSocket, 1)} KiB; ${r.sockets.toLocaleString('en-US')} sockets opened in ${formatNumber(r.connectSeconds, 1)} s.`,
    `Trickle: ${r.trickle.sent} messages × ${r.sockets + 1} sockets = ${r.trickle.deliveries.toLocaleString('en-US')} deliveries, ${r.trickle.lost} lost; ` +
      `latency p50 ${formatNumber(r.trickle.p50Ms, 2)} ms, p99 ${formatNumber(r.trickle.p99Ms, 2)} ms, max ${formatNumber(r.trickle.maxMs, 1)} ms; ` +
      `server CPU ${formatNumber(r.trickle.cpuUsPerDelivery, 2)} µs per delivery (${formatNumber(r.trickle.cpuCores * 100, 1)} % of a core).`,
    ...(r.warnings.length > 0 ? ['', 'Warnings:', ...r.warnings.map((w) => `- ${w}`)] : []),
    ''
  ].join('\n')
}

export function soakSvg (title: string, subtitle: string, r: SoakResult): string {
  const stageStarts: Array<{ x: number, label: string }> = []
  let last = ''
  for (const s of r.samples) {
    const stage = s.stage.startsWith('closed') ? 'closed' : s.stage
    if (stage !== last && ['open', 'closed', 'end'].includes(stage)) stageStarts.push({ x: s.t, label: stage === 'open' ? 'sockets open' : stage === 'closed' ? 'sockets closed' : 'end' })
    last = stage
  }
  return lineChartSvg(title, subtitle, 'MiB', [
    { label: 'RSS', color: '#d97706', points: r.samples.map((s) => [s.t, s.rssMb] as const) },
    { label: 'V8 heap used', color: '#2563eb', points: r.samples.map((s) => [s.t, s.heapUsedMb] as const) }
  ], stageStarts)
}

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  check, connectPublisher, connectSpread, metric, phaseDetails, phaseWarnings, runPhase, settle, warmUp, warmupMs,
  type CaseContext, type CaseOutcome, type MetricValue, type PhaseOutcome
} from './cases.js'
import type { ChannelPositionJson, SubscribeResult } from './protocol.js'
import { startServer, type RunningServer, type ServerSetup } from './servers.js'
import { shares } from './workers.js'

/**
 * The channels case: fan-out to one channel among many, with the channel
 * log's history on and off, and recovery after a reconnect. Each round starts
 * wsgate twice, once with a CHANNELS_FILE whose `default` namespace (bare
 * channel names) keeps 100 messages and once with one that keeps none;
 * both processes run the same sequence, so their CPU per delivery differs
 * by what keeping history costs. Every subscriber is in the published
 * channel and in a few of the others, so that the channel reaches as many
 * sockets as `global` does in the fanout case, while all the channels have
 * subscribers.
 */

export type HistoryMode = 'on' | 'off'

/** Bare names: the `default` namespace, whose history the CHANNELS_FILE sets. */
export const HOT_CHANNEL = 'bench-0'
export const RECOVERY_CHANNEL = 'bench-recover'
/** Messages published into the recovery channel before the clients' position, so that they recover from mid-history. */
const BEFORE = 20
const SUBSCRIBE_TIMEOUT_MS = 30_000
const RECOVER_TIMEOUT_MS = 30_000

export function channelNames (n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bench-${i}`)
}

/** Other channels each subscriber joins: every channel gets subscribers, about 9 each at 1 000 and 1 000. */
export function perSocket (channels: number, subscribers: number): number {
  // A socket may be in 100 channels, global included, and is in the hot one too.
  return Math.min(98, channels - 1, Math.max(9, Math.ceil((channels - 1) / subscribers)))
}

/** The CHANNELS_FILE of one mode, written to the run's scratch folder. */
export function channelsFile (tmpDir: string, history: HistoryMode): string {
  const path = join(tmpDir, `channels-history-${history}.json`)
  const size = history === 'on' ? 100 : 0
  writeFileSync(path, `${JSON.stringify({ namespaces: { default: { history: { size, ttlSeconds: 300 } } } })}\n`)
  return path
}

export async function startChannelServer (setup: ServerSetup, history: HistoryMode): Promise<RunningServer> {
  return await startServer('wsgate', { ...setup, wsgateEnv: { CHANNELS_FILE: channelsFile(setup.tmpDir, history), ...setup.wsgateEnv } })
}

function sumCounts (all: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const counts of all) for (const [why, n] of Object.entries(counts)) out[why] = (out[why] ?? 0) + n
  return out
}

function subscribeWarnings (warnings: string[], what: string, r: SubscribeResult, wanted: number): void {
  if (r.subscribed < wanted) warnings.push(`${what}: ${r.subscribed}/${wanted} subscribes confirmed (${Object.entries(r.failures).map(([why, n]) => `${n}× ${why}`).join(', ')})`)
}

/** Subscribers in the hot channel and spread over the rest; the publisher in the hot channel. */
async function subscribeSpread (ctx: CaseContext, subscribers: number, warnings: string[]): Promise<void> {
  const names = channelNames(ctx.opts.channels)
  const others = names.filter((c) => c !== HOT_CHANNEL)
  const each = perSocket(ctx.opts.channels, subscribers)
  const counts = shares(subscribers, ctx.pool.sockets.length)
  let start = 0
  const results = await Promise.all(ctx.pool.sockets.map(async (w, i) => {
    const args = { group: 'sub', every: [HOT_CHANNEL], spread: others, perSocket: each, start, timeoutMs: SUBSCRIBE_TIMEOUT_MS }
    start += (counts[i] ?? 0) * each
    return await w.request('subscribe', args)
  }))
  const pub = await ctx.pool.pub.request('subscribe', { group: 'pub', every: [HOT_CHANNEL], spread: [], perSocket: 0, start: 0, timeoutMs: SUBSCRIBE_TIMEOUT_MS })
  const merged: SubscribeResult = {
    sockets: results.reduce((s, r) => s + r.sockets, 0),
    subscribed: results.reduce((s, r) => s + r.subscribed, 0),
    failures: sumCounts(results.map((r) => r.failures)),
    positions: {}
  }
  subscribeWarnings(warnings, 'channels: subscribers', merged, merged.sockets * (1 + each))
  subscribeWarnings(warnings, 'channels: publisher', pub, 1)
}

export interface ChannelFanout {
  readonly global: PhaseOutcome
  readonly channel: PhaseOutcome
}

/**
 * Saturated fan-out with the same sockets to `global`, then to the hot
 * channel: as many deliveries per message both ways (every subscriber and
 * the publisher), in one process.
 */
async function channelFanout (ctx: CaseContext, server: RunningServer, warnings: string[]): Promise<ChannelFanout> {
  const { subscribers, size, rate, window, seconds } = ctx.opts
  await warmUp(ctx, server)
  const subs = await connectSpread(ctx, server, subscribers, 'sub', 200)
  check(warnings, 'channels', subs, subscribers)
  await connectPublisher(ctx, server)
  await subscribeSpread(ctx, subs.opened, warnings)
  await settle(ctx, 300)
  const durationMs = seconds * 1000
  const phase = { mode: 'window' as const, rate, window, durationMs, size }
  await runPhase(ctx, server, { ...phase, durationMs: warmupMs(ctx.opts) })
  await runPhase(ctx, server, { ...phase, durationMs: warmupMs(ctx.opts), channel: HOT_CHANNEL })
  const global = await runPhase(ctx, server, phase)
  const channel = await runPhase(ctx, server, { ...phase, channel: HOT_CHANNEL })
  phaseWarnings(warnings, 'channels: fan-out to global', global)
  phaseWarnings(warnings, `channels: fan-out to ${HOT_CHANNEL}`, channel)
  await ctx.pool.closeAll()
  return { global, channel }
}

export interface RecoveryFigures {
  readonly clients: number
  readonly recovered: number
  readonly frames: number
  /** First subscribe sent to the last `subscribed` received. */
  readonly ms: number
  readonly cpuSeconds: number
  /** The reconnect before it: handshakes of every client. */
  readonly connectMs: number
  readonly connectCpuSeconds: number
  readonly from: ChannelPositionJson
  readonly failures: Record<string, number>
}

/**
 * `recoverClients` clients left the recovery channel at offset BEFORE; then
 * `recoverMessages` more were published; they reconnect (timed apart) and
 * subscribe with `recover` all at once.
 */
async function recovery (ctx: CaseContext, server: RunningServer, warnings: string[]): Promise<RecoveryFigures> {
  const { recoverClients, recoverMessages, window, size } = ctx.opts
  await connectPublisher(ctx, server)
  const joined = await ctx.pool.pub.request('subscribe', { group: 'pub', every: [RECOVERY_CHANNEL], spread: [], perSocket: 0, start: 0, timeoutMs: SUBSCRIBE_TIMEOUT_MS })
  const start = joined.positions[RECOVERY_CHANNEL]
  if (start === undefined) throw new Error(`the publisher could not subscribe to ${RECOVERY_CHANNEL}: ${JSON.stringify(joined.failures)}`)
  const publish = async (count: number): Promise<PhaseOutcome> => await runPhase(ctx, server, { mode: 'window', rate: 1, window, durationMs: 30_000, size, channel: RECOVERY_CHANNEL, count })
  const before = await publish(BEFORE)
  const missed = await publish(recoverMessages)
  phaseWarnings(warnings, 'recovery: publishing the earlier messages', before)
  phaseWarnings(warnings, 'recovery: publishing the missed messages', missed)
  const from = { offset: start.offset + before.sent, epoch: start.epoch }
  const c0 = server.cpu()
  const clients = await connectSpread(ctx, server, recoverClients, 'rec', ctx.opts.concurrency)
  const c1 = server.cpu()
  check(warnings, 'recovery: reconnect', clients, recoverClients)
  await settle(ctx, 300)
  const cpu0 = server.cpu()
  const replies = await Promise.all(ctx.pool.sockets.map(async (w) => await w.request('recover', {
    group: 'rec', channel: RECOVERY_CHANNEL, from, expect: missed.sent, timeoutMs: RECOVER_TIMEOUT_MS
  })))
  const cpu1 = server.cpu()
  await ctx.pool.closeAll()
  const failures = sumCounts(replies.map((r) => r.failures))
  const recovered = replies.reduce((s, r) => s + r.recovered, 0)
  if (recovered < clients.opened) warnings.push(`recovery: ${recovered}/${clients.opened} clients recovered (${Object.entries(failures).map(([why, n]) => `${n}× ${why}`).join(', ')})`)
  const active = replies.filter((r) => r.sockets > 0)
  return {
    clients: clients.opened,
    recovered,
    frames: replies.reduce((s, r) => s + r.frames, 0),
    ms: (Math.max(...active.map((r) => r.endUs)) - Math.min(...active.map((r) => r.startUs))) / 1000,
    cpuSeconds: cpu1 - cpu0,
    connectMs: (clients.endUs - clients.startUs) / 1000,
    connectCpuSeconds: c1 - c0,
    from,
    failures
  }
}

const perDelivery = (p: PhaseOutcome): number => (p.cpuSeconds * 1e6) / p.deliveries

/** One server start of one mode: the fan-out pair, and with history on the recovery too. */
async function runMode (ctx: CaseContext, setup: ServerSetup, history: HistoryMode, warnings: string[]): Promise<{ fanout: ChannelFanout, recovery?: RecoveryFigures }> {
  const server = await startChannelServer(setup, history)
  const w: string[] = []
  try {
    const fanout = await channelFanout(ctx, server, w)
    const recovered = history === 'on' ? await recovery(ctx, server, w) : undefined
    return { fanout, ...(recovered === undefined ? {} : { recovery: recovered }) }
  } finally {
    if (!server.alive) w.push(`wsgate (history ${history}) exited during the case (log: ${server.logFile})`)
    if (server.distChanged) w.push('dist/src changed since this run built it: wsgate runs other code')
    warnings.push(...w.map((line) => `history ${history}: ${line}`))
    await ctx.pool.closeAll().catch(() => {})
    await server.stop()
  }
}

/**
 * Both modes, in an order that alternates with the round (a drift of the
 * machine then falls on each side alike). `globalCpuUs` is the fanout case's
 * CPU per delivery of the same round, which the target compares with.
 */
export async function channelsCase (ctx: CaseContext, setup: ServerSetup, round: number, globalCpuUs: number | undefined): Promise<CaseOutcome> {
  const warnings: string[] = []
  const order: HistoryMode[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on']
  const runs: Partial<Record<HistoryMode, Awaited<ReturnType<typeof runMode>>>> = {}
  for (const mode of order) runs[mode] = await runMode(ctx, setup, mode, warnings)
  const on = runs.on as Awaited<ReturnType<typeof runMode>>
  const off = runs.off as Awaited<ReturnType<typeof runMode>>
  const c = ctx.opts.channels.toLocaleString('en-US')
  const onUs = perDelivery(on.fanout.channel)
  const offUs = perDelivery(off.fanout.channel)
  const metrics: MetricValue[] = [
    metric('channels.on.cpuUs', `channels: CPU per delivery, 1 of ${c} channels, history on`, 'µs', 'lower', 2, onUs),
    metric('channels.off.cpuUs', `channels: CPU per delivery, 1 of ${c} channels, history off`, 'µs', 'lower', 2, offUs),
    metric('channels.on.globalCpuUs', 'channels: CPU per delivery to global, same sockets and process (history on)', 'µs', 'lower', 2, perDelivery(on.fanout.global)),
    metric('channels.off.globalCpuUs', 'channels: CPU per delivery to global, same sockets and process (history off)', 'µs', 'lower', 2, perDelivery(off.fanout.global)),
    metric('channels.on.rate', `channels: delivered msg/s to 1 of ${c} channels, saturated`, 'msg/s', 'higher', 0, on.fanout.channel.deliveries / on.fanout.channel.seconds),
    metric('channels.pairedRatio', 'channels: CPU per delivery, channel ÷ global, same sockets and process', '×', 'lower', 2, onUs / perDelivery(on.fanout.global)),
    metric('channels.historyRatio', 'channels: CPU per delivery, history on ÷ off', '×', 'lower', 2, onUs / offUs),
    // global keeps history in both processes: over it, each process's own speed drops out.
    metric('channels.historyRatioByGlobal', 'channels: history on ÷ off, each ÷ global of its own process', '×', 'lower', 2,
      (onUs / perDelivery(on.fanout.global)) / (offUs / perDelivery(off.fanout.global)))
  ]
  if (globalCpuUs !== undefined) metrics.push(metric('channels.cpuRatio', 'channels: CPU per delivery, 1 channel of many ÷ the fanout case (global)', '×', 'lower', 2, onUs / globalCpuUs))
  else warnings.push('channels: no fanout-case figure of this round to compare with')
  const rec = on.recovery
  if (rec !== undefined) {
    const n = `${rec.clients.toLocaleString('en-US')} clients × ${ctx.opts.recoverMessages}`
    metrics.push(
      metric('channels.recover.ms', `recovery: ${n} missed messages, first subscribe to last reply`, 'ms', 'lower', 0, rec.ms),
      metric('channels.recover.cpuMs', `recovery: ${n} missed messages, server CPU`, 'ms', 'lower', 0, rec.cpuSeconds * 1000),
      metric('channels.recover.cpuUsPerMsg', 'recovery: server CPU per replayed message', 'µs', 'lower', 2, (rec.cpuSeconds * 1e6) / rec.frames),
      metric('channels.recover.connectMs', `recovery: the ${rec.clients.toLocaleString('en-US')} reconnects before it (handshakes)`, 'ms', 'lower', 0, rec.connectMs)
    )
  }
  const fanoutDetails = (f: ChannelFanout): Record<string, unknown> => ({ global: phaseDetails(f.global), channel: phaseDetails(f.channel) })
  return {
    metrics,
    details: {
      channels: ctx.opts.channels,
      perSocket: perSocket(ctx.opts.channels, ctx.opts.subscribers),
      order,
      globalCpuUs: globalCpuUs ?? null,
      on: fanoutDetails(on.fanout),
      off: fanoutDetails(off.fanout),
      recovery: rec ?? null
    },
    warnings
  }
}

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Refusal } from './admission.js'
import type { Hub } from './hub.js'

export interface StatsSnapshot {
  instanceId: string
  at: number
  connections: number
  users: number
  pending: number
  /** Upgrades refused since start, by the cap that refused them. */
  refusedHandshakes: Record<Refusal, number>
  messagesInPerSecond: number
  messagesOutPerSecond: number
  authSuccessesLastMinute: number
  authFailuresLastMinute: number
  memory: { rss: number, heapUsed: number }
  eventLoopDelayMs: { p50: number, p99: number, max: number }
  uptimeSeconds: number
  /** The busiest channels of this instance and their subscribers here, at most CHANNELS_IN_STATS. */
  channels: Array<{ readonly channel: string, readonly subscribers: number }>
}

const WINDOW_SECONDS = 60
/** Channels listed per snapshot: enough for a dashboard, bounded for a deployment with thousands. */
export const CHANNELS_IN_STATS = 100

/** Per-second buckets over the last minute: O(1) to record, O(60) to read. */
class MinuteCounter {
  private readonly counts = new Array<number>(WINDOW_SECONDS).fill(0)
  private readonly seconds = new Array<number>(WINDOW_SECONDS).fill(-1)

  add (nowSeconds: number): void {
    const slot = nowSeconds % WINDOW_SECONDS
    if (this.seconds[slot] !== nowSeconds) {
      this.seconds[slot] = nowSeconds
      this.counts[slot] = 0
    }
    this.counts[slot] = (this.counts[slot] ?? 0) + 1
  }

  total (nowSeconds: number): number {
    let sum = 0
    for (let i = 0; i < WINDOW_SECONDS; i++) {
      if (nowSeconds - (this.seconds[i] ?? -1) < WINDOW_SECONDS) sum += this.counts[i] ?? 0
    }
    return sum
  }
}

const round = (n: number): number => Math.round(n * 100) / 100

/**
 * What this instance is doing, labelled with an instance id so that several
 * instances' figures can be summed. Counting is a field increment on the hot
 * path; rates are worked out only when a snapshot is taken.
 */
export class RealtimeStats {
  pending = 0
  readonly refusedHandshakes: Record<Refusal, number> = { connectionsPerIp: 0, pendingPerIp: 0, pendingTotal: 0 }
  private messagesIn = 0
  private messagesOut = 0
  private readonly authOk = new MinuteCounter()
  private readonly authFailed = new MinuteCounter()
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 })
  private last = { at: performance.now(), in: 0, out: 0 }

  constructor (private readonly hub: Hub, readonly instanceId: string) {
    this.loopDelay.enable()
  }

  /** Messages received from and delivered to sockets since start (Prometheus counters). */
  get totals (): { readonly messagesIn: number, readonly messagesOut: number } {
    return { messagesIn: this.messagesIn, messagesOut: this.messagesOut }
  }

  received (): void { this.messagesIn++ }
  sent (count: number): void { this.messagesOut += count }

  auth (ok: boolean): void {
    (ok ? this.authOk : this.authFailed).add(Math.floor(Date.now() / 1000))
  }

  snapshot (): StatsSnapshot {
    const now = performance.now()
    const elapsed = Math.max(0.001, (now - this.last.at) / 1000)
    const nowSeconds = Math.floor(Date.now() / 1000)
    const memory = process.memoryUsage()
    const snap: StatsSnapshot = {
      instanceId: this.instanceId,
      at: Date.now() / 1000,
      connections: this.hub.size,
      users: this.hub.userCount,
      pending: this.pending,
      refusedHandshakes: { ...this.refusedHandshakes },
      messagesInPerSecond: round((this.messagesIn - this.last.in) / elapsed),
      messagesOutPerSecond: round((this.messagesOut - this.last.out) / elapsed),
      authSuccessesLastMinute: this.authOk.total(nowSeconds),
      authFailuresLastMinute: this.authFailed.total(nowSeconds),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      eventLoopDelayMs: {
        p50: round(this.loopDelay.percentile(50) / 1e6),
        p99: round(this.loopDelay.percentile(99) / 1e6),
        max: round(this.loopDelay.max / 1e6)
      },
      uptimeSeconds: Math.round(process.uptime()),
      channels: this.hub.channelSizes(CHANNELS_IN_STATS)
    }
    // Rates are per interval between snapshots, so each admin sees recent activity.
    if (elapsed >= 1) {
      this.last = { at: now, in: this.messagesIn, out: this.messagesOut }
      this.loopDelay.reset()
    }
    return snap
  }

  close (): void {
    this.loopDelay.disable()
  }
}


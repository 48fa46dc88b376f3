import type { Broker } from '../broker/broker.js'
import { InstanceTable, type Totals } from '../broker/instance-table.js'
import { CHANNELS_IN_STATS, type RealtimeStats, type StatsSnapshot } from './stats.js'

/** `stats_update` and `GET /admin/stats`: this instance's figures, every instance's, and their sum. */
export type ClusterStatsUpdate = StatsSnapshot & {
  readonly type: 'stats_update'
  /** Every instance heard from within the last few intervals, this one included, ordered by id. */
  readonly instances: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly total: Totals & { readonly instanceCount: number }
  /** Subscribers per channel over every instance (each row keeps its own list). */
  readonly channels: ChannelSize[]
}

interface ChannelSize { readonly channel: string, readonly subscribers: number }

/** Subscribers per channel over every instance's list, busiest first. */
function sumChannels (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): ChannelSize[] {
  const sums = new Map<string, number>()
  for (const row of rows) {
    if (!Array.isArray(row.channels)) continue
    for (const item of row.channels as unknown[]) {
      const { channel, subscribers } = (item ?? {}) as Record<string, unknown>
      if (typeof channel === 'string' && typeof subscribers === 'number') sums.set(channel, (sums.get(channel) ?? 0) + subscribers)
    }
  }
  return [...sums].map(([channel, subscribers]) => ({ channel, subscribers }))
    .sort((a, b) => b.subscribers - a.subscribers || (a.channel < b.channel ? -1 : 1)).slice(0, CHANNELS_IN_STATS)
}

/**
 * Each instance publishes its own snapshot every stats interval through the
 * broker and keeps the latest one of every other; an admin on any instance
 * sees the whole deployment. With the in-process broker the table holds only
 * this instance, so the total equals its own figures.
 */
export class ClusterStats {
  private readonly table: InstanceTable

  constructor (private readonly stats: RealtimeStats, private readonly broker: Broker, intervalMs: number) {
    this.table = new InstanceTable({ intervalMs, now: Date.now })
    broker.subscribe((event) => {
      if (event.kind === 'instance-stats') this.table.record(event.instanceId, event.snapshot)
    })
  }

  /** Takes this interval's snapshot and sends it to every instance (itself included); returns the update to push. */
  publish (): ClusterStatsUpdate {
    const own = this.stats.snapshot()
    void this.broker.publish({ kind: 'instance-stats', instanceId: own.instanceId, snapshot: { ...own } })
    return this.view(own)
  }

  /** The update as of now, for a request between ticks: this instance's row is fresh, the others' are their latest. */
  current (): ClusterStatsUpdate {
    const own = this.stats.snapshot()
    this.table.record(own.instanceId, { ...own })
    return this.view(own)
  }

  private view (own: StatsSnapshot): ClusterStatsUpdate {
    const { instances, totals } = this.table.view()
    return {
      type: 'stats_update',
      ...own,
      channels: sumChannels(instances.map((row) => row.snapshot)),
      instances: instances.map((row) => row.snapshot),
      total: { ...totals, instanceCount: instances.length }
    }
  }
}

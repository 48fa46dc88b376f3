/** The fields of an instance's stats that add up to a cluster figure. */
export const SUMMED_FIELDS = [
  'connections',
  'users',
  'pending',
  'messagesInPerSecond',
  'messagesOutPerSecond',
  'authSuccessesLastMinute',
  'authFailuresLastMinute'
] as const

export type SummedField = typeof SUMMED_FIELDS[number]
export type Totals = Record<SummedField, number>

export interface InstanceRow {
  readonly instanceId: string
  /** When this instance's latest snapshot arrived, on the table's clock. */
  readonly receivedAt: number
  readonly snapshot: Readonly<Record<string, unknown>>
}

export interface InstanceTableOptions {
  /** How often each instance publishes its snapshot (STATS_INTERVAL_MS). */
  readonly intervalMs: number
  /** An instance not heard from within this many intervals is dropped (default 3). */
  readonly missedIntervals?: number
  readonly now: () => number
}

/**
 * The latest `instance-stats` snapshot of every live instance, and their
 * sum. An instance that stops publishing (crashed, or cut off from Redis)
 * drops out after a few missed intervals, so the totals never keep a dead
 * instance's figures. `users` is a sum of per-instance counts: a user with
 * sockets on two instances counts twice.
 */
export class InstanceTable {
  private readonly latest = new Map<string, InstanceRow>()
  private readonly maxAgeMs: number

  constructor (private readonly options: InstanceTableOptions) {
    this.maxAgeMs = options.intervalMs * (options.missedIntervals ?? 3)
  }

  record (instanceId: string, snapshot: Readonly<Record<string, unknown>>): void {
    this.latest.set(instanceId, { instanceId, receivedAt: this.options.now(), snapshot })
  }

  forget (instanceId: string): void {
    this.latest.delete(instanceId)
  }

  /** Live instances, ordered by id. */
  rows (): InstanceRow[] {
    const now = this.options.now()
    for (const [id, row] of this.latest) {
      if (now - row.receivedAt > this.maxAgeMs) this.latest.delete(id)
    }
    return [...this.latest.values()].sort((a, b) => a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0)
  }

  /** Sums of SUMMED_FIELDS over live instances; a missing or non-numeric field counts 0. */
  totals (rows: readonly InstanceRow[] = this.rows()): Totals {
    const totals = Object.fromEntries(SUMMED_FIELDS.map((field) => [field, 0])) as Totals
    for (const row of rows) {
      for (const field of SUMMED_FIELDS) {
        const value = row.snapshot[field]
        if (typeof value === 'number' && Number.isFinite(value)) totals[field] += value
      }
    }
    // Rates are fractional; keep the sum as readable as each instance's figure.
    totals.messagesInPerSecond = Math.round(totals.messagesInPerSecond * 100) / 100
    totals.messagesOutPerSecond = Math.round(totals.messagesOutPerSecond * 100) / 100
    return totals
  }

  /** Rows and their totals from one look at the clock. */
  view (): { readonly instances: InstanceRow[], readonly totals: Totals } {
    const instances = this.rows()
    return { instances, totals: this.totals(instances) }
  }
}

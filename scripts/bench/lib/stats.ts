/**
 * Small statistics for the bench: order statistics over per-round values and
 * a log-linear histogram for latencies (mergeable across processes).
 */

/** Quantile of an ascending array, linear interpolation between ranks (R type 7, numpy's default). */
export function quantileSorted (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  if (q <= 0) return sorted[0] as number
  if (q >= 1) return sorted[sorted.length - 1] as number
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}

function ascending (values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
}

export function quantile (values: readonly number[], q: number): number {
  return quantileSorted(ascending(values), q)
}

export function median (values: readonly number[]): number {
  return quantile(values, 0.5)
}

export interface Summary {
  readonly n: number
  readonly median: number
  readonly min: number
  readonly max: number
  readonly q1: number
  readonly q3: number
}

/** Median with its spread; undefined when there is no finite value. */
export function summarize (values: readonly number[]): Summary | undefined {
  const sorted = ascending(values)
  if (sorted.length === 0) return undefined
  return {
    n: sorted.length,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    q1: quantileSorted(sorted, 0.25),
    q3: quantileSorted(sorted, 0.75)
  }
}

/** Values below this are counted exactly; above, each power of two is split into SUB buckets. */
const EXACT = 128
const SUB = 64
const SUB_BITS = 6
const MAX_VALUE = 2 ** 31 - 1

/** Bucket index of a non-negative value: exact below 128, then 64 buckets per octave (≤ 1.6 % wide). */
export function bucketOf (value: number): number {
  const v = Math.min(MAX_VALUE, Math.max(0, Math.floor(value)))
  if (v < EXACT) return v
  const exponent = 31 - Math.clz32(v)
  const shift = exponent - SUB_BITS
  return EXACT + (shift - 1) * SUB + ((v >>> shift) - SUB)
}

/** [low, high) of a bucket. */
export function bucketRange (index: number): [number, number] {
  if (index < EXACT) return [index, index + 1]
  const k = index - EXACT
  const shift = Math.floor(k / SUB) + 1
  const m = (k % SUB) + SUB
  return [m * 2 ** shift, (m + 1) * 2 ** shift]
}

export interface HistogramJson {
  readonly buckets: ReadonlyArray<readonly [number, number]>
  readonly count: number
  readonly sum: number
  readonly min: number
  readonly max: number
}

/**
 * Latency histogram in integer units (the bench records microseconds).
 * Quantiles are bucket midpoints clamped to the exact min and max, so their
 * error is under 1 % of the value.
 */
export class Histogram {
  private readonly counts = new Map<number, number>()
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY

  record (value: number): void {
    if (!Number.isFinite(value)) return
    const v = Math.max(0, value)
    const index = bucketOf(v)
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1)
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  merge (other: Histogram | HistogramJson): void {
    const json = other instanceof Histogram ? other.toJSON() : other
    for (const [index, n] of json.buckets) this.counts.set(index, (this.counts.get(index) ?? 0) + n)
    this.count += json.count
    this.sum += json.sum
    if (json.count > 0) {
      this.min = Math.min(this.min, json.min)
      this.max = Math.max(this.max, json.max)
    }
  }

  get mean (): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count
  }

  /** The value at quantile q (0..1): the smallest bucket whose cumulative count reaches q·count. */
  quantile (q: number): number {
    if (this.count === 0) return Number.NaN
    if (q <= 0) return this.min
    if (q >= 1) return this.max
    const rank = Math.max(1, Math.ceil(q * this.count))
    const indices = [...this.counts.keys()].sort((a, b) => a - b)
    let seen = 0
    for (const index of indices) {
      seen += this.counts.get(index) ?? 0
      if (seen >= rank) {
        const [low, high] = bucketRange(index)
        const mid = index < EXACT ? low : (low + high - 1) / 2
        return Math.min(this.max, Math.max(this.min, mid))
      }
    }
    return this.max
  }

  toJSON (): HistogramJson {
    return {
      buckets: [...this.counts.entries()],
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? 0 : this.min,
      max: this.count === 0 ? 0 : this.max
    }
  }

  static from (json: HistogramJson): Histogram {
    const h = new Histogram()
    h.merge(json)
    return h
  }
}

/** a ÷ b, or NaN when either is missing or b is zero. */
export function ratio (a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN
  return a / b
}

/**
 * Ratios of paired rounds (round i of A ÷ round i of B): the rounds are
 * interleaved, so a pair shares the machine's state at that moment.
 */
export function pairedRatios (a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const r = ratio(a[i], b[i])
    if (Number.isFinite(r)) out.push(r)
  }
  return out
}

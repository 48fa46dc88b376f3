import t from 'tap'
import { bucketOf, bucketRange, Histogram, median, pairedRatios, quantile, ratio, summarize } from '../../scripts/bench/lib/stats.js'

t.test('median and quantiles interpolate between ranks', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.equal(median([7]), 7)
  t.ok(Number.isNaN(median([])), 'no values: NaN')
  t.equal(quantile([1, 2, 3, 4, 5], 0.25), 2)
  t.equal(quantile([10, 20], 0.75), 17.5)
  t.equal(quantile([5, 1, 9], 0), 1)
  t.equal(quantile([5, 1, 9], 1), 9)
  t.equal(median([1, Number.NaN, 3]), 2, 'NaN (a missing round) is ignored')
})

t.test('summarize gives median with min–max and IQR', async (t) => {
  t.same(summarize([5, 1, 4, 2, 3]), { n: 5, median: 3, min: 1, max: 5, q1: 2, q3: 4 })
  t.equal(summarize([]), undefined)
  t.equal(summarize([Number.NaN]), undefined)
})

t.test('paired ratios pair round i with round i', async (t) => {
  t.same(pairedRatios([2, 4, 9], [1, 2, 3]), [2, 2, 3])
  t.same(pairedRatios([2, Number.NaN, 6], [1, 2, 0]), [2], 'missing rounds and zero divisors are skipped')
  t.ok(Number.isNaN(ratio(1, 0)))
})

t.test('histogram buckets are exact below 128 and within 1.6 % above', async (t) => {
  for (let v = 0; v < 128; v++) if (bucketRange(bucketOf(v))[0] !== v) t.fail(`${v} is not exact`)
  let previous = -1
  for (let v = 1; v < 5_000_000; v = Math.ceil(v * 1.013) + 1) {
    const index = bucketOf(v)
    if (index < previous) t.fail(`bucket of ${v} below the previous one`)
    previous = index
    const [low, high] = bucketRange(index)
    if (v < low || v >= high) t.fail(`${v} outside its bucket [${low}, ${high})`)
    if ((high - low) / low > 1 / 64 + 1e-9 && v >= 128) t.fail(`bucket of ${v} too wide`)
  }
  t.pass('every value lies in its bucket; buckets grow and stay narrow')
})

t.test('histogram quantiles are close to exact ones, and merge', async (t) => {
  const values = Array.from({ length: 10_000 }, (_, i) => 50 + ((i * 7919) % 20_000))
  const a = new Histogram()
  const b = new Histogram()
  values.forEach((v, i) => { (i % 2 === 0 ? a : b).record(v) })
  const merged = Histogram.from(a.toJSON())
  merged.merge(b.toJSON())
  t.equal(merged.count, values.length)
  t.equal(merged.min, Math.min(...values))
  t.equal(merged.max, Math.max(...values))
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = quantile(values, q)
    const approx = merged.quantile(q)
    t.ok(Math.abs(approx - exact) / exact < 0.02, `q${q}: ${approx} vs ${exact}`)
  }
  t.ok(Math.abs(merged.mean - values.reduce((s, v) => s + v, 0) / values.length) < 1e-6)
  t.ok(Number.isNaN(new Histogram().quantile(0.5)), 'empty: NaN')
})

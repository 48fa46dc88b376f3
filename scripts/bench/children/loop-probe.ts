/**
 * Preloaded into a measured server with `node --import`: its event-loop
 * delay, measured inside the process, with no code in the server itself.
 * Every 100 ms it writes the histogram (ms) to BENCH_LOOP_FILE. A file
 * `<BENCH_LOOP_FILE>.reset` starts it afresh (and is removed), so that the
 * server's own startup can be left out. Not a signal: wsgate's
 * close-with-grace shuts down on SIGUSR2 and most others.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_FILE
if (file !== undefined) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const write = (): void => {
    if (existsSync(`${file}.reset`)) {
      rmSync(`${file}.reset`, { force: true })
      histogram.reset()
    }
    const ms = (ns: number): number => ns / 1e6
    writeFileSync(file, JSON.stringify({ maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), p50Ms: ms(histogram.percentile(50)), samples: histogram.count }))
  }
  setInterval(write, 100).unref()
}

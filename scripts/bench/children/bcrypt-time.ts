/**
 * Times one bcrypt compare at a given cost with bcryptjs (the library and
 * sync call wsgate's password workers use), in a process of its own. Both
 * CPU time (what a core can do, unaffected by other load) and wall time.
 * argv: <cost> <iterations>. Prints JSON: { cost, cpuMs, wallMs, samplesCpuMs }.
 */
import bcrypt from 'bcryptjs'

const cost = Number(process.argv[2] ?? '10')
const iterations = Number(process.argv[3] ?? '10')
const hash = bcrypt.hashSync('bench-password', cost)
bcrypt.compareSync('warm-up', hash)
const cpu: number[] = []
const wall: number[] = []
for (let i = 0; i < iterations; i++) {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  bcrypt.compareSync(`wrong-${i}`, hash)
  wall.push(Number(process.hrtime.bigint() - t0) / 1e6)
  const c = process.cpuUsage(c0)
  cpu.push((c.user + c.system) / 1000)
}
function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
process.stdout.write(`${JSON.stringify({ cost, cpuMs: median(cpu), wallMs: median(wall), samplesCpuMs: cpu })}\n`)

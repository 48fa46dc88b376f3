import t from 'tap'
import { clockTicksPerSecond, cpuSeconds, parseProcStat, parseProcStatus, rssKb, ticksToSeconds } from '../../scripts/bench/lib/proc.js'

t.test('parseProcStat reads utime, stime, cutime, cstime after the command name', async (t) => {
  // Field 2 may hold spaces and parentheses; fields are counted from the last ")".
  const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 30 7 3 20 0 11 0 5000 1000000 20000 18446744073709551615\n'
  t.same(parseProcStat(line), { utime: 150, stime: 30, cutime: 7, cstime: 3 })
  t.equal(ticksToSeconds(parseProcStat(line), 100), 1.9)
  t.throws(() => parseProcStat('garbage'))
})

t.test('parseProcStatus reads VmRSS, VmHWM and Threads', async (t) => {
  const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t11\n'
  t.same(parseProcStatus(text), { vmRssKb: 80000, vmHwmKb: 81234, threads: 11 })
})

// The bench reads Linux's /proc; without it this test must fail, not pass unseen.
t.test('this process: CPU grows with work, RSS is positive', async (t) => {
  t.ok(clockTicksPerSecond() > 0)
  const before = cpuSeconds(process.pid)
  const end = Date.now() + 120
  let x = 0
  while (Date.now() < end) x += Math.sqrt(x + 1)
  t.ok(x > 0)
  t.ok(cpuSeconds(process.pid) - before >= 0.05, 'a 120 ms busy loop shows in utime+stime')
  t.ok(rssKb(process.pid) > 1000)
})

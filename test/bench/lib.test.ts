import { randomUUID } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import t from 'tap'
import { channelsOf } from '../../scripts/bench/children/channel-ops.js'
import { parseArgs, UsageError } from '../../scripts/bench/lib/args.js'
import { channelNames, HOT_CHANNEL, perSocket } from '../../scripts/bench/lib/channels.js'
import { startFailureReason } from '../../scripts/bench/lib/cluster.js'
import { clockTicksPerSecond, cpuSeconds, parseProcIo, parseProcStat, parseProcStatus, rssKb, ticksToSeconds, writeSyscalls } from '../../scripts/bench/lib/proc.js'
import { infoCpuSeconds, parseInfo } from '../../scripts/bench/lib/redis-cpu.js'
import { Results, formatSummary, targetRows, targetsMarkdown } from '../../scripts/bench/lib/report.js'
import { envExampleKeys, generousLimits, rangeProblems } from '../../scripts/bench/lib/servers.js'
import { bucketOf, bucketRange, Histogram, median, pairedRatios, quantile, ratio, summarize } from '../../scripts/bench/lib/stats.js'
import { panelsSvg } from '../../scripts/bench/lib/svg.js'
import { benchMessage, isBenchFrame, parseSioPacket, readBenchFields, sioEventPacket, stampProblem, trailingOffset } from '../../scripts/bench/lib/wire.js'

/* The bench's own parts, one file: each is quick, and a test file costs a process. */

// --- flags, limits and the report

t.test('defaults, --quick, and explicit flags', async (t) => {
  const full = parseArgs([])
  t.equal(full.mode, 'bench')
  t.equal(full.handshakes, 5000)
  t.same(full.memory, [5000, 10000])
  t.equal(full.subscribers, 1000)
  t.same(full.servers, ['raw', 'sio', 'wsgate'])
  const quick = parseArgs(['--quick'])
  t.ok(quick.rounds < full.rounds && quick.handshakes < full.handshakes)
  const picked = parseArgs(['--case', 'fanout', '--rounds=3', '--servers', 'ws,socket.io', '--env', 'BCRYPT_COST=4', '--no-build'])
  t.same(picked.cases, ['fanout'])
  t.equal(picked.rounds, 3)
  t.same(picked.servers, ['raw', 'sio'])
  t.same(picked.env, { BCRYPT_COST: '4' })
  t.equal(picked.build, false)
  const smoke = parseArgs(['--smoke', '--case', 'fanout', '--subscribers', '50'])
  t.equal(smoke.smoke, true)
  t.ok(smoke.rounds === 1 && smoke.seconds < 1 && smoke.handshakes < quick.handshakes, 'one round, short phases, tiny sizes')
  t.equal(smoke.subscribers, 50, 'an explicit flag still wins')
  t.equal(full.smoke, false)
  const soak = parseArgs(['soak', '--minutes', '30'])
  t.equal(soak.mode, 'soak')
  t.equal(soak.minutes, 30)
  t.equal(soak.sockets, 10000)
})

t.test('fanout2 is a default case, brings the one-instance fan-out along, and takes a Redis URL', async (t) => {
  const full = parseArgs([])
  t.ok(full.cases.includes('fanout2') && full.cases.includes('fanout'))
  t.equal(full.redis, 'redis://127.0.0.1:6379')
  t.same(parseArgs(['--case', 'fanout2']).cases, ['fanout', 'fanout2'], 'its ratios need fanout in the same run')
  t.same(parseArgs(['--case', 'handshake,fanout2']).cases, ['handshake', 'fanout', 'fanout2'])
  t.equal(parseArgs(['--redis', 'redis://127.0.0.1:6390']).redis, 'redis://127.0.0.1:6390')
  t.throws(() => parseArgs(['--redis', 'http://127.0.0.1:6379']), UsageError)
  t.throws(() => parseArgs(['--redis', 'localhost:6379']), UsageError)
})

t.test('channels is a default case with its own sizes, brings fanout along, and a smoke run takes it only when named', async (t) => {
  const full = parseArgs([])
  t.ok(full.cases.includes('channels'))
  t.same([full.channels, full.recoverClients, full.recoverMessages], [1000, 1000, 100])
  t.same(parseArgs(['--case', 'channels']).cases, ['fanout', 'channels'], 'its ratio needs fanout in the same run')
  t.same(parseArgs(['--case', 'fanout2,channels']).cases, ['fanout', 'fanout2', 'channels'])
  t.notOk(parseArgs(['--smoke']).cases.includes('channels'), 'two wsgate starts: not in a default smoke run')
  const smoke = parseArgs(['--smoke', '--case', 'channels'])
  t.ok(smoke.cases.includes('channels') && smoke.channels < full.channels && smoke.recoverClients < full.recoverClients, 'named: a tiny version')
  t.equal(parseArgs(['--channels', '50', '--recover-clients', '20', '--recover-messages', '30']).recoverMessages, 30)
  t.throws(() => parseArgs(['--recover-messages', '101']), UsageError, 'more than the 100 messages of history kept')
  t.throws(() => parseArgs(['--channels', '1']), UsageError)
})

t.test('channel spread: every channel gets subscribers, each socket stays under the subscription limit', async (t) => {
  for (const [channels, subscribers, workers] of [[1000, 1000, 2], [20, 10, 1], [1000, 50, 3]] as const) {
    const names = channelNames(channels)
    const others = names.filter((c) => c !== HOT_CHANNEL)
    const each = perSocket(channels, subscribers)
    const members = new Map<string, number>()
    let start = 0
    for (let w = 0; w < workers; w++) {
      const count = Math.floor(subscribers / workers) + (w < subscribers % workers ? 1 : 0)
      for (let j = 0; j < count; j++) {
        const mine = channelsOf({ every: [HOT_CHANNEL], spread: others, perSocket: each, start }, j)
        if (mine[0] !== HOT_CHANNEL || mine.length > 99 || new Set(mine).size !== mine.length) t.fail(`socket ${j}: ${mine.length} channels, hot first, no repeats`)
        for (const c of mine) members.set(c, (members.get(c) ?? 0) + 1)
      }
      start += count * each
    }
    t.equal(members.get(HOT_CHANNEL), subscribers, `${channels}/${subscribers}: every subscriber in the published channel`)
    t.equal(members.size, channels, `${channels}/${subscribers}: every channel has subscribers`)
    const spread = others.map((c) => members.get(c) ?? 0)
    t.ok(Math.max(...spread) - Math.min(...spread) <= 1, `${channels}/${subscribers}: spread evenly (${Math.min(...spread)}–${Math.max(...spread)} each)`)
  }
  t.equal(perSocket(1000, 1000), 9, 'about 9 subscribers in each other channel at 1 000 and 1 000')
})

t.test('bad flags are usage errors', async (t) => {
  t.throws(() => parseArgs(['--case', 'nope']), UsageError)
  t.throws(() => parseArgs(['--rounds', '0']), UsageError)
  t.throws(() => parseArgs(['--seconds', '0.5']), UsageError)
  t.equal(parseArgs(['--smoke', '--seconds', '0.5']).seconds, 0.5, 'short phases only for a smoke run')
  t.throws(() => parseArgs(['--frobnicate']), UsageError)
  t.throws(() => parseArgs(['--rounds']), UsageError)
  t.throws(() => parseArgs(['--env', 'NOEQUALS']), UsageError)
})

t.test('wsgate limits: every limit key of .env.example gets a generous value, windows do not', async (t) => {
  const example = [
    'TOKEN_RATE_LIMIT=10', 'LOGIN_FREE_FAILURES=5', 'LOGIN_MAX_BACKOFF_SECONDS=900', 'WS_MAX_CONNECTIONS_PER_USER=100',
    'WS_MESSAGES_PER_SECOND=50', 'WS_MESSAGE_BURST=100', '# WS_CONNECTIONS_PER_IP=20', 'RATE_LIMIT_WINDOW_MS=60000', 'WS_MAX_PAYLOAD=65536'
  ].join('\n')
  t.same(envExampleKeys(example).length, 9)
  const limits = generousLimits(example)
  for (const key of ['TOKEN_RATE_LIMIT', 'LOGIN_FREE_FAILURES', 'WS_MAX_CONNECTIONS_PER_USER', 'WS_MESSAGES_PER_SECOND', 'WS_MESSAGE_BURST', 'WS_CONNECTIONS_PER_IP']) {
    t.ok(Number(limits[key]) >= 1000, `${key} raised`)
  }
  for (const key of ['LOGIN_MAX_BACKOFF_SECONDS', 'RATE_LIMIT_WINDOW_MS', 'WS_MAX_PAYLOAD']) t.equal(limits[key], undefined, `${key} untouched`)
  t.same([...rangeProblems('Invalid configuration:\n  - LOGIN_FREE_FAILURES must be a whole number from 0 to 1000 (got "1000000")')], [['LOGIN_FREE_FAILURES', '1000']])
})

t.test('results pair rounds, format medians with spread, and check targets', async (t) => {
  const results = new Results()
  const def = { key: 'fanout.sat.cpuUs', label: 'cpu', unit: 'µs', better: 'lower' as const, digits: 2 }
  ;[6, 7, 8].forEach((v, round) => { results.add('raw', round, { ...def, value: v }) })
  ;[6, 7, 16].forEach((v, round) => { results.add('wsgate', round, { ...def, value: v }) })
  t.same(results.ratio('fanout.sat.cpuUs', 'wsgate', 'raw'), { n: 3, median: 1, min: 1, max: 2, q1: 1, q3: 1.5 })
  t.equal(formatSummary(results.summary('fanout.sat.cpuUs', 'raw'), 2), '7.00 (6.00–8.00)')
  const rows = targetRows(results, 'memory.kb@10000')
  t.equal(rows[0]?.met, true, 'median ratio 1.0 meets ≤ 1.0× raw ws')
  t.equal(rows.find((r) => r.measure.startsWith('RSS'))?.measured, 'not measured')
  t.equal(results.value('fanout.sat.cpuUs', 'wsgate', 2), 16, 'one round\'s figure')
  t.equal(results.value('fanout.sat.cpuUs', 'wsgate', 3), undefined, 'a round without one')
  const svg = panelsSvg('t', 's', [{ title: 'p', unit: 'u', bars: [{ label: 'a', median: 1, min: 0.5, max: 2, color: '#000' }, { label: 'b', median: Number.NaN, min: Number.NaN, max: Number.NaN, color: '#111' }] }])
  t.match(svg, /^<svg /)
  t.notMatch(svg, /NaN/)
})

t.test('scale-out targets: the embedded path against raw ws, the Redis path against the embedded one', async (t) => {
  const results = new Results()
  const cpu = { key: 'fanout.sat.cpuUs', label: 'cpu', unit: 'µs', better: 'lower' as const, digits: 2 }
  const ratio = { key: 'fanout2.cpuRatio', label: 'ratio', unit: '×', better: 'lower' as const, digits: 2 }
  ;[10, 10].forEach((v, round) => { results.add('raw', round, { ...cpu, value: v }) })
  ;[3, 4].forEach((v, round) => { results.add('wsgate', round, { ...cpu, value: v }) })
  ;[1.4, 1.7].forEach((v, round) => { results.add('wsgate', round, { ...ratio, value: v }) })
  const rows = targetRows(results, 'memory.kb@10000')
  const embedded = rows.find((r) => r.target === '≤ 0.35× raw ws')
  t.equal(embedded?.median, 0.35)
  t.equal(embedded?.met, true, 'median 0.35× meets ≤ 0.35×')
  const redis = rows.find((r) => r.measure.startsWith('fan-out, 2 instances'))
  t.equal(redis?.target, '≤ 1.5')
  t.equal(redis?.met, false, 'median 1.55 misses ≤ 1.5')
  t.equal(targetRows(new Results(), 'memory.kb@10000').find((r) => r.target === '≤ 1.5' && r.measure.includes('2 instances'))?.measured, 'not measured')
})

t.test('channel targets: one channel of many and history as ratios, recovery reported in ms and CPU', async (t) => {
  const results = new Results()
  const def = (key: string, unit: string): { key: string, label: string, unit: string, better: 'lower', digits: number } => ({ key, label: key, unit, better: 'lower', digits: 2 })
  ;[1.05, 1.12, 1.08].forEach((v, round) => { results.add('wsgate', round, { ...def('channels.cpuRatio', '×'), value: v }) })
  ;[1.2, 1.1, 1.15].forEach((v, round) => { results.add('wsgate', round, { ...def('channels.historyRatio', '×'), value: v }) })
  ;[900, 800, 1000].forEach((v, round) => { results.add('wsgate', round, { ...def('channels.recover.ms', 'ms'), value: v }) })
  ;[400, 500, 450].forEach((v, round) => { results.add('wsgate', round, { ...def('channels.recover.cpuMs', 'ms'), value: v }) })
  const rows = targetRows(results, 'memory.kb@10000')
  const channel = rows.find((r) => r.measure.startsWith('fan-out to 1 of 1 000 channels'))
  t.same([channel?.target, channel?.median, channel?.met], ['≤ 1.1', 1.08, true], 'median 1.08 meets ≤ 1.1')
  const history = rows.find((r) => r.measure.startsWith('channel history'))
  t.same([history?.target, history?.median, history?.met], ['≤ 1.1', 1.15, false], '15 % extra misses ≤ 10 %')
  const recovery = rows.find((r) => r.measure.startsWith('recovery'))
  t.equal(recovery?.met, undefined, 'no limit: reported only')
  t.equal(recovery?.measured, '900 ms (800–1,000); 450 ms CPU (400–500)')
  t.match(targetsMarkdown(rows), /\| recovery: 1 000 reconnecting clients, 100 missed messages each \| reported \(ms, server CPU\) \| 900 ms .* \| — \|/)
  t.equal(targetRows(new Results(), 'memory.kb@10000').find((r) => r.measure.startsWith('recovery'))?.measured, 'not measured')
})

t.test('a failed start is reduced to the sentence that says why', async (t) => {
  const message = [
    'wsgate failed to start: server exited during start',
    'file:///repo/dist/src/broker/open.js:7',
    '        throw new Error(\'REDIS_URL is set but the Redis broker is not available yet\');',
    '              ^',
    '',
    'Error: REDIS_URL is set but the Redis broker is not available yet',
    '    at openBroker (file:///repo/dist/src/broker/open.js:7:15)'
  ].join('\n')
  t.equal(startFailureReason(message), 'REDIS_URL is set but the Redis broker is not available yet')
  t.equal(startFailureReason('wsgate login failed: POST /token answered 500\n{"level":50,"msg":"boom"}'), '{"level":50,"msg":"boom"}', 'no Error line: the last line')
  t.equal(startFailureReason(`TypeError: ${'x'.repeat(300)}`).length, 201, 'long reasons are cut')
})

t.test('INFO replies: fields by name, CPU as user + sys', async (t) => {
  const info = parseInfo('# CPU\r\nused_cpu_sys:1.077079\r\nused_cpu_user:1.360376\r\nused_cpu_sys_children:0.000000\r\n\r\n# Server\r\nprocess_id:2217\r\n')
  t.equal(info.get('process_id'), '2217')
  t.equal(infoCpuSeconds(info), 1.077079 + 1.360376)
  t.throws(() => infoCpuSeconds(parseInfo('# CPU\r\nused_cpu_user:1.0\r\n')), /used_cpu_sys/)
})

// --- statistics

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

// --- the wire: bench messages and Socket.IO packets

t.test('bench messages have the requested size', async (t) => {
  for (const size of [128, 256, 1000]) t.equal(Buffer.byteLength(benchMessage(3, 12345, 987654321012, size)), size)
  const m = JSON.parse(benchMessage(1, 2, 3, 256)) as Record<string, unknown>
  t.match(m, { type: 'bench', ph: 1, seq: 2, t: 3 })
})

t.test('readBenchFields finds the fields wherever the server put them', async (t) => {
  const stamped = { ...JSON.parse(benchMessage(7, 42, 123456789, 256)) as object, user: 'user', timestamp: 1795412079.298, requestId: randomUUID() }
  const json = JSON.stringify(stamped)
  t.same(readBenchFields(Buffer.from(json)), { ph: 7, seq: 42, t: 123456789 })
  // A server may build the frame in another order: stamps first, then the sender's fields.
  const { user, requestId, timestamp, ...rest } = stamped
  const reordered = JSON.stringify({ user, requestId, timestamp, ...rest })
  t.same(readBenchFields(Buffer.from(reordered)), { ph: 7, seq: 42, t: 123456789 })
  t.same(readBenchFields(Buffer.from(sioEventPacket(json))), { ph: 7, seq: 42, t: 123456789 }, 'inside a Socket.IO event')
  t.equal(readBenchFields(Buffer.from('{"type":"connection_established","user":"user"}')), undefined)
})

t.test('stampProblem accepts a correctly stamped message and names what is wrong otherwise', async (t) => {
  const sent = JSON.parse(benchMessage(1, 5, 99, 256)) as Record<string, unknown>
  const good = { ...sent, user: 'user', timestamp: Date.now() / 1000, requestId: randomUUID() }
  t.equal(stampProblem(good, 'user', 256), undefined)
  t.match(stampProblem({ ...good, user: 'mallory' }, 'user', 256), /user/)
  t.match(stampProblem({ ...good, timestamp: Date.now() }, 'user', 256), /timestamp/)
  t.match(stampProblem({ ...good, requestId: 'abc' }, 'user', 256), /requestId/)
  t.match(stampProblem({ ...good, pad: 'x' }, 'user', 256), /intact/)
  t.match(stampProblem([good], 'user', 256), /object/)
})

t.test('bench messages to a channel: exact size, and the channel and offset the log appends are checked', async (t) => {
  const text = benchMessage(2, 9, 77, 256, 'bench-0')
  t.equal(Buffer.byteLength(text), 256)
  const { channel: _channel, ...sent } = JSON.parse(text) as Record<string, unknown>
  // The server drops the sender's channel and appends channel and offset last.
  const frame = JSON.stringify({ ...sent, user: 'user', timestamp: Date.now() / 1000, requestId: randomUUID(), channel: 'bench-0', offset: 41 })
  t.equal(stampProblem(JSON.parse(frame), 'user', 256, 'bench-0'), undefined)
  t.match(stampProblem({ ...JSON.parse(frame) as object, channel: 'global' }, 'user', 256, 'bench-0'), /channel/)
  t.match(stampProblem({ ...JSON.parse(frame) as object, offset: 0 }, 'user', 256, 'bench-0'), /offset/)
  t.match(stampProblem(JSON.parse(frame), 'user', 256), /intact/, 'a channel message checked as a global one: the padding differs')
  t.equal(trailingOffset(frame), 41)
  t.equal(trailingOffset('{"type":"subscribed","channel":"c","offset":3,"epoch":"ab"}'), undefined, 'only an offset the frame ends with')
  t.ok(isBenchFrame(Buffer.from(frame)))
  t.notOk(isBenchFrame(Buffer.from('{"type":"subscribed","channel":"bench-0","offset":3,"epoch":"ab"}')))
})

t.test('Socket.IO packets', async (t) => {
  t.same(parseSioPacket('0{"sid":"a"}'), { kind: 'open' })
  t.same(parseSioPacket('2'), { kind: 'ping' })
  t.same(parseSioPacket('40{"sid":"b"}'), { kind: 'connected' })
  t.same(parseSioPacket('44{"message":"Invalid token"}'), { kind: 'connect-error', message: 'Invalid token' })
  t.same(parseSioPacket('42["message",{"type":"x"}]'), { kind: 'event', name: 'message', data: { type: 'x' } })
})

// --- /proc

t.test('parseProcStat reads utime, stime, cutime, cstime after the command name', async (t) => {
  // Field 2 may hold spaces and parentheses; fields are counted from the last ")".
  const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 30 7 3 20 0 11 0 5000 1000000 20000 18446744073709551615\n'
  t.same(parseProcStat(line), { utime: 150, stime: 30, cutime: 7, cstime: 3 })
  t.equal(ticksToSeconds(parseProcStat(line), 100), 1.9)
  t.throws(() => parseProcStat('garbage'))
})

t.test('parseProcIo reads syscw, and writeSyscalls counts this process\'s writes', async (t) => {
  t.equal(parseProcIo('rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4242\nread_bytes: 0\n'), 4242)
  t.throws(() => parseProcIo('rchar: 10\n'))
  const devNull = openSync('/dev/null', 'w')
  t.teardown(() => { closeSync(devNull) })
  const before = writeSyscalls(process.pid)
  writeSync(devNull, 'x')
  t.ok(writeSyscalls(process.pid) > before, 'one write syscall more')
  t.ok(Number.isNaN(writeSyscalls(-1)), 'no such process: NaN, not a throw')
})

t.test('parseProcStatus reads VmRSS, VmHWM and Threads', async (t) => {
  const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t11\n'
  t.same(parseProcStatus(text), { vmRssKb: 80000, vmHwmKb: 81234, threads: 11 })
})

// The bench reads Linux's /proc; without it this test must fail, not pass unseen.
t.test('this process: /proc counts the CPU it spends, RSS is positive', async (t) => {
  const hz = clockTicksPerSecond()
  t.ok(hz > 0)
  // Busy until the kernel's own account (getrusage, in µs) shows 100 ms of
  // CPU spent, however long that takes on a busy machine; /proc is read
  // inside that span.
  const start = process.cpuUsage()
  const spent = (): number => {
    const { user, system } = process.cpuUsage(start)
    return (user + system) / 1e6
  }
  const before = cpuSeconds(process.pid)
  let x = 0
  while (spent() < 0.1) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1)
  const after = cpuSeconds(process.pid)
  const used = spent()
  t.ok(x > 0)
  // /proc counts whole ticks, utime and stime each rounded down: two ticks
  // either way, and a little for the reads outside its span.
  const seen = after - before
  t.ok(Math.abs(seen - used) <= 2 / hz + 0.01, `/proc saw ${seen.toFixed(3)} s of the ${used.toFixed(3)} s getrusage saw`)
  t.ok(seen >= 0.05, 'the work shows in utime+stime')
  t.ok(rssKb(process.pid) > 1000)
})

import t from 'tap'
import { parseArgs, UsageError } from '../../scripts/bench/lib/args.js'
import { envExampleKeys, generousLimits, rangeProblems } from '../../scripts/bench/lib/servers.js'
import { Results, formatSummary, targetRows } from '../../scripts/bench/lib/report.js'
import { panelsSvg } from '../../scripts/bench/lib/svg.js'

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
  const soak = parseArgs(['soak', '--minutes', '30'])
  t.equal(soak.mode, 'soak')
  t.equal(soak.minutes, 30)
  t.equal(soak.sockets, 10000)
})

t.test('bad flags are usage errors', async (t) => {
  t.throws(() => parseArgs(['--case', 'nope']), UsageError)
  t.throws(() => parseArgs(['--rounds', '0']), UsageError)
  t.throws(() => parseArgs(['--seconds', '0.5']), UsageError)
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
  const svg = panelsSvg('t', 's', [{ title: 'p', unit: 'u', bars: [{ label: 'a', median: 1, min: 0.5, max: 2, color: '#000' }, { label: 'b', median: Number.NaN, min: Number.NaN, max: Number.NaN, color: '#111' }] }])
  t.match(svg, /^<svg /)
  t.notMatch(svg, /NaN/)
})

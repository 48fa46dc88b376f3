/**
 * `npm run bench`: raw ws, Socket.IO and wsgate, each in its own process,
 * driven by separate load-generator processes over 127.0.0.1, rounds
 * interleaved. Prints a table of medians and ratios and writes JSON, an SVG
 * chart and a markdown summary under bench/results/. `npm run bench -- soak`
 * runs the memory soak instead. `--help` lists the options.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redactUrl } from '../../src/config.js'
import { parseArgs, UsageError, USAGE, type CaseName, type Options, type ServerName } from './lib/args.js'
import { connectionsCase, fanoutCase, stormCase, tokenCase, type CaseContext, type CaseOutcome } from './lib/cases.js'
import { channelsCase, perSocket } from './lib/channels.js'
import { fanout2Case, PairStartError, startPair, type Pair } from './lib/cluster.js'
import { compileChildren } from './lib/compile.js'
import { cpuModel, loadAverage } from './lib/proc.js'
import { profileFiles, summarizeProfile, threadOf } from './lib/profile.js'
import { formatNumber, markdownReport, Results, targetRows, targetsText, textTable, type RunMeta } from './lib/report.js'
import { distFingerprint, SERVER_LABEL, startServer, type RunningServer, type ServerSetup } from './lib/servers.js'
import { runSoak, soakMarkdown, soakSvg } from './lib/soak.js'
import { reconnectStorm } from './lib/storm.js'
import { childFdLimit, freePort, killChildren, sleep } from './lib/spawn.js'
import { SERVER_COLORS, panelsSvg, type Panel } from './lib/svg.js'
import { WorkerPool } from './lib/workers.js'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** A fixed secret, so tokens of one run are reproducible; it protects nothing. */
const BENCH_SECRET = 'wsgate-bench-secret-not-for-production-0123456789'

const log = (line: string): void => { process.stdout.write(`${line}\n`) }

type CaseRunner = (ctx: CaseContext, server: RunningServer) => Promise<CaseOutcome>

interface Unit {
  readonly name: string
  readonly run: CaseRunner
  /** Start the server with the inspector (forced GCs and heap readings). */
  readonly inspect?: boolean
  /** Stops the server itself (the reconnect storm replaces it): last, and its exit is no failure. */
  readonly stopsServer?: boolean
}

/**
 * What every server process runs in a round. Handshakes and memory share
 * their sockets when both are selected (the timed handshakes become the
 * first idle sockets); memory comes first on a fresh process either way.
 */
function sharedUnits (cases: readonly CaseName[]): Unit[] {
  const units: Unit[] = []
  const handshake = cases.includes('handshake')
  const memory = cases.includes('memory')
  if (handshake || memory) {
    units.push({
      name: handshake && memory ? 'handshake+memory' : handshake ? 'handshake' : 'memory',
      run: async (ctx, server) => await connectionsCase(ctx, server, { handshake, memory }),
      inspect: memory
    })
  }
  if (cases.includes('fanout')) units.push({ name: 'fanout', run: fanoutCase })
  return units
}

/** wsgate only: the others have no login. They run after the shared cases, in the same process. */
function wsgateUnits (cases: readonly CaseName[], setup: ServerSetup): Unit[] {
  const units: Unit[] = []
  if (cases.includes('storm')) units.push({ name: 'storm', run: stormCase })
  if (cases.includes('token')) units.push({ name: 'token', run: tokenCase })
  if (cases.includes('reconnect')) {
    units.push({
      name: 'reconnect',
      stopsServer: true,
      run: async (ctx, server) => {
        const { replacement, ...outcome } = await reconnectStorm(ctx, setup, ctx.scripts, server)
        await replacement?.stop()
        return outcome
      }
    })
  }
  return units
}

function stamp (date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

function gitDescribe (): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head} + uncommitted src changes` : head
  } catch {
    return 'unknown commit'
  }
}

function oneLine (outcome: CaseOutcome): string {
  return outcome.metrics
    .filter((m) => !m.key.startsWith('memory.idle') && !m.key.startsWith('memory.kbFound') && m.key !== 'fanout.lost' && m.key !== 'fanout2.lost' && !m.key.startsWith('channels.off.global') && m.key !== 'token.limit' && m.key !== 'token.bcryptMs')
    .map((m) => `${m.key.split('.').slice(1).join('.')} ${formatNumber(m.value, m.digits)}`)
    .join('  ')
}

function settingsText (opts: Options, cases: readonly CaseName[]): string {
  const parts: string[] = []
  if (cases.includes('handshake')) parts.push(`handshakes: ${opts.handshakes.toLocaleString('en-US')} connections, ${opts.concurrency} in flight`)
  if (cases.includes('fanout')) parts.push(`fan-out: 1 publisher → ${opts.subscribers.toLocaleString('en-US')} subscribers (+ the publisher's own copy), ${opts.size}-byte messages, latency at ${opts.rate} msg/s, saturation with ${opts.window} messages in flight behind the slowest socket, ${opts.seconds} s per phase`)
  if (cases.includes('fanout2')) parts.push(`two-instance fan-out: the same, subscribers split over two wsgate processes on one Redis (${redactUrl(opts.redis)}, a key prefix per round) and one SQLite file, a publisher socket on each, messages alternating between them`)
  if (cases.includes('channels')) {
    parts.push(`channels: the fan-out's subscribers each in channel bench-0 and ${perSocket(opts.channels, opts.subscribers)} more of ${opts.channels.toLocaleString('en-US')} bare-name channels, saturated fan-out to global and then to bench-0 with the same sockets, in two wsgate processes per round (CHANNELS_FILE default history 100 messages, and 0); ` +
      `recovery: ${opts.recoverClients.toLocaleString('en-US')} clients reconnect and subscribe with recover, ${opts.recoverMessages} messages behind, all at once`)
  }
  if (cases.includes('memory')) parts.push(`memory: ${opts.memory.map((n) => n.toLocaleString('en-US')).join(' and ')} idle sockets`)
  if (cases.includes('storm')) parts.push(`login storm: ${opts.stormSockets} sockets at ${opts.stormRate} msg/s, ${opts.stormConcurrency} wrong-password requests in flight`)
  if (cases.includes('token')) parts.push(`/token: ${opts.tokenConcurrency} logins in flight, bcrypt cost ${opts.bcryptCost}`)
  if (cases.includes('reconnect')) parts.push(`reconnect storm: ${opts.reconnectSockets.toLocaleString('en-US')} sockets, wsgate stopped (1001 to all) and replaced on the same port and database, clients reconnecting with the SDK's backoff and full jitter`)
  parts.push(`load: ${opts.clients} socket processes + 1 publisher + 1 HTTP process`)
  return `Settings — ${parts.join('; ')}.`
}

function chartPanels (results: Results, servers: readonly ServerName[], memoryKey: string): Panel[] {
  const panel = (key: string, title: string): Panel | undefined => {
    const s = results.series.get(key)
    if (s === undefined) return undefined
    return {
      title,
      unit: `${s.def.unit}, ${s.def.better === 'lower' ? 'lower' : 'higher'} is better`,
      bars: servers.filter((srv) => s.values[srv] !== undefined).map((srv) => {
        const sum = results.summary(key, srv)
        return { label: SERVER_LABEL[srv], median: sum?.median ?? Number.NaN, min: sum?.min ?? Number.NaN, max: sum?.max ?? Number.NaN, color: SERVER_COLORS[srv] }
      })
    }
  }
  const pair = (keys: Array<[string, string]>, title: string, unit: string, reference?: Panel['reference']): Panel | undefined => {
    const bars = keys.flatMap(([key, label]) => {
      const sum = results.summary(key, 'wsgate')
      return sum === undefined ? [] : [{ label, median: sum.median, min: sum.min, max: sum.max, color: SERVER_COLORS.wsgate }]
    })
    return bars.length === 0 ? undefined : { title, unit, bars, ...(reference === undefined ? {} : { reference }) }
  }
  const stormIdle = results.summary('storm.p99IdleMs', 'wsgate')
  const oneCpu = results.summary('fanout.sat.cpuUs', 'wsgate')
  return [
    panel('handshake.cpuUs', 'Handshake: server CPU per connection'),
    panel('handshake.rate', 'Handshakes per second'),
    panel('fanout.sat.cpuUs', 'Fan-out: server CPU per delivery'),
    panel('fanout.sat.rate', 'Fan-out: delivered msg/s, saturated'),
    panel('fanout.rate.p99Ms', 'Fan-out: p99 latency at fixed rate'),
    panel(memoryKey, 'RSS per idle socket'),
    pair([['storm.p99IdleMs', 'no storm'], ['storm.p99StormMs', 'storm']], 'wsgate: p99 fan-out latency, login storm', 'ms, lower is better',
      stormIdle === undefined ? undefined : { value: stormIdle.median * 1.5, label: 'target 1.5× idle' }),
    pair([['fanout.sat.cpuUs', '1 instance'], ['fanout2.sat.cpuUs', '2 + Redis']], 'wsgate: CPU per delivery, 1 instance vs 2 on Redis', 'µs, lower is better',
      oneCpu === undefined ? undefined : { value: oneCpu.median * 1.5, label: 'target 1.5× 1 instance' }),
    pair([['fanout.sat.rate', '1 instance'], ['fanout2.sat.rate', '2 + Redis']], 'wsgate: delivered msg/s, 1 instance vs 2 on Redis', 'msg/s, higher is better'),
    pair([['fanout.sat.cpuUs', 'global'], ['channels.on.cpuUs', '1 of many'], ['channels.off.cpuUs', '1 of many, no history']], 'wsgate: CPU per delivery, global vs one channel of many', 'µs, lower is better',
      oneCpu === undefined ? undefined : { value: oneCpu.median * 1.1, label: 'target 1.1× global' }),
    pair([['token.rate', 'logins/s'], ['token.limit', 'bcrypt limit']], 'wsgate: /token logins per second', 'login/s, higher is better')
  ].filter((p): p is Panel => p !== undefined)
}

async function runBench (opts: Options, ctx: CaseContext, setup: ServerSetup, meta: Omit<RunMeta, 'loadEnd' | 'seconds'>, started: number): Promise<void> {
  const results = new Results()
  const warnings: string[] = []
  const details: Array<{ round: number, server: ServerName, case: string, details: Record<string, unknown>, warnings: string[] }> = []
  const shared = sharedUnits(opts.cases)
  const wsgateOnly = opts.servers.includes('wsgate') ? wsgateUnits(opts.cases, setup) : []
  if (shared.length === 0 && wsgateOnly.length === 0) throw new UsageError('nothing to run: storm, token and reconnect need wsgate in --servers')
  const wsgateEnv: Record<string, Record<string, string>> = {}
  const outDir = resolve(opts.out)
  const base = `${stamp(new Date(meta.date))}-${meta.mode}`
  const profileDir = join(outDir, 'profiles', base)

  const runCases = async (server: ServerName, round: number, units: readonly Unit[]): Promise<void> => {
    let running: RunningServer
    const startAt = Date.now()
    try {
      const inspect = units.some((u) => u.inspect === true)
      const dir = join(profileDir, server)
      running = await startServer(server, setup, {
        ...(inspect ? { inspectPort: await freePort() } : {}),
        ...(opts.profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] } : {})
      })
      log(`  ${'start'.padEnd(16)} ${SERVER_LABEL[server].padEnd(9)} ${`${((Date.now() - startAt) / 1000).toFixed(1)} s`.padStart(6)}  pid ${running.pid}`)
    } catch (err) {
      const message = `round ${round + 1}: ${SERVER_LABEL[server]} did not start: ${(err as Error).message}`
      warnings.push(message.split('\n')[0] ?? message)
      log(`  ${message}`)
      return
    }
    if (server === 'wsgate') Object.assign(wsgateEnv, { env: running.env })
    if (running.distChanged) {
      const message = `round ${round + 1}: dist/src changed since this run built it (someone ran a build): from here on wsgate runs other code`
      if (!warnings.includes(message)) warnings.push(message)
      log(`  warning: ${message}`)
    }
    try {
      for (const { name, run, stopsServer } of units) {
        const caseStart = Date.now()
        try {
          const outcome = await run(ctx, running)
          for (const m of outcome.metrics) results.add(server, round, m)
          details.push({ round: round + 1, server, case: name, details: outcome.details, warnings: outcome.warnings })
          for (const w of outcome.warnings) warnings.push(`round ${round + 1}, ${SERVER_LABEL[server]}: ${w}`)
          const took = `${((Date.now() - caseStart) / 1000).toFixed(1)} s`.padStart(6)
          log(`  ${name.padEnd(16)} ${SERVER_LABEL[server].padEnd(9)} ${took}  ${oneLine(outcome)}${outcome.warnings.length > 0 ? `  [${outcome.warnings.length} warning(s)]` : ''}`)
        } catch (err) {
          const message = `round ${round + 1}, ${SERVER_LABEL[server]}, ${name} failed: ${(err as Error).message}`
          warnings.push(message)
          log(`  ${message}`)
          await ctx.pool.closeAll().catch(() => {})
        }
        if (stopsServer === true) break
        if (!running.alive) {
          warnings.push(`round ${round + 1}: ${SERVER_LABEL[server]} exited during ${name} (log: ${running.logFile})`)
          break
        }
        if (!opts.smoke) await sleep(200)
      }
    } finally {
      await ctx.pool.closeAll().catch(() => {})
      await running.stop()
    }
  }

  /** Why fanout2 is skipped for the rest of the run: a server exited at start, so later rounds would too. */
  let pairSkipped: string | undefined
  const runPair = async (round: number): Promise<void> => {
    const startAt = Date.now()
    let pair: Pair
    try {
      pair = await startPair(setup, opts.redis)
    } catch (err) {
      const reason = (err as Error).message
      if (err instanceof PairStartError && err.atStart) pairSkipped = reason
      const message = `round ${round + 1}: fanout2 skipped: two wsgate instances on Redis did not start: ${reason}`
      warnings.push(message)
      log(`  ${message}`)
      return
    }
    const label = 'wsgate ×2'.padEnd(9)
    log(`  ${'start'.padEnd(16)} ${label} ${`${((Date.now() - startAt) / 1000).toFixed(1)} s`.padStart(6)}  pids ${pair.a.pid}, ${pair.b.pid}; Redis pid ${pair.redis.pid} (CPU from ${pair.redis.source === 'proc' ? '/proc' : 'INFO cpu'})`)
    const env = { ...pair.a.env }
    for (const key of ['REDIS_URL', 'DATABASE_URL']) if (env[key] !== undefined) env[key] = redactUrl(env[key])
    Object.assign(wsgateEnv, { pair: env })
    const caseStart = Date.now()
    try {
      const cpuUs = results.value('fanout.sat.cpuUs', 'wsgate', round)
      const rate = results.value('fanout.sat.rate', 'wsgate', round)
      const rateCpuUs = results.value('fanout.rate.cpuUs', 'wsgate', round)
      const one = cpuUs === undefined || rate === undefined ? undefined : { cpuUs, rate, ...(rateCpuUs === undefined ? {} : { rateCpuUs }) }
      if (one === undefined) warnings.push(`round ${round + 1}: fanout2 has no one-instance fan-out to compare with`)
      const outcome = await fanout2Case(ctx, pair, one)
      for (const m of outcome.metrics) results.add('wsgate', round, m)
      details.push({ round: round + 1, server: 'wsgate', case: 'fanout2', details: outcome.details, warnings: outcome.warnings })
      for (const w of outcome.warnings) warnings.push(`round ${round + 1}, wsgate ×2: ${w}`)
      const took = `${((Date.now() - caseStart) / 1000).toFixed(1)} s`.padStart(6)
      log(`  ${'fanout2'.padEnd(16)} ${label} ${took}  ${oneLine(outcome)}${outcome.warnings.length > 0 ? `  [${outcome.warnings.length} warning(s)]` : ''}`)
    } catch (err) {
      const message = `round ${round + 1}, wsgate ×2, fanout2 failed: ${(err as Error).message}`
      warnings.push(message)
      log(`  ${message}`)
    } finally {
      for (const [name, s] of [['A', pair.a], ['B', pair.b]] as const) {
        if (!s.alive) warnings.push(`round ${round + 1}: wsgate ${name} of the pair exited during fanout2 (log: ${s.logFile})`)
        if (s.distChanged) warnings.push(`round ${round + 1}: dist/src changed since this run built it: the pair runs other code`)
      }
      await ctx.pool.closeAll().catch(() => {})
      await pair.stop()
    }
  }
  const withPair = opts.cases.includes('fanout2') && opts.servers.includes('wsgate')

  /** The channels case: two wsgate starts of its own (history on and off), after the round's fanout case. */
  const runChannels = async (round: number): Promise<void> => {
    const caseStart = Date.now()
    try {
      const globalCpuUs = results.value('fanout.sat.cpuUs', 'wsgate', round)
      const outcome = await channelsCase(ctx, setup, round, globalCpuUs)
      for (const m of outcome.metrics) results.add('wsgate', round, m)
      details.push({ round: round + 1, server: 'wsgate', case: 'channels', details: outcome.details, warnings: outcome.warnings })
      for (const w of outcome.warnings) warnings.push(`round ${round + 1}, wsgate channels: ${w}`)
      const took = `${((Date.now() - caseStart) / 1000).toFixed(1)} s`.padStart(6)
      log(`  ${'channels'.padEnd(16)} ${'wsgate'.padEnd(9)} ${took}  ${oneLine(outcome)}${outcome.warnings.length > 0 ? `  [${outcome.warnings.length} warning(s)]` : ''}`)
    } catch (err) {
      const message = `round ${round + 1}, wsgate, channels failed: ${(err as Error).message.split('\n')[0] ?? ''}`
      warnings.push(message)
      log(`  ${message}`)
      await ctx.pool.closeAll().catch(() => {})
    }
  }
  const withChannels = opts.cases.includes('channels') && opts.servers.includes('wsgate')

  // One process per server per round; wsgate's login cases run last in its
  // process, after the shared cases (memory first, on the fresh process).
  // The pair runs after the one-instance wsgate, which it is compared with.
  for (let round = 0; round < opts.rounds; round++) {
    log(`round ${round + 1}/${opts.rounds}`)
    for (const server of opts.servers) {
      const units = server === 'wsgate' ? [...shared, ...wsgateOnly] : shared
      if (units.length > 0) await runCases(server, round, units)
    }
    if (withPair && pairSkipped === undefined) await runPair(round)
    if (withChannels) await runChannels(round)
  }

  const seconds = (Date.now() - started) / 1000
  const fullMeta: RunMeta = { ...meta, loadEnd: loadAverage(), seconds }
  const memoryKey = `memory.kb@${opts.memory[opts.memory.length - 1] ?? 0}`
  const targets = targetRows(results, memoryKey)
  const settings = settingsText(opts, opts.cases.filter((c) => opts.servers.includes('wsgate') || !['fanout2', 'channels', 'storm', 'token', 'reconnect'].includes(c)))

  log('')
  log(textTable(results, opts.servers))
  if (opts.servers.includes('wsgate')) {
    log('')
    log('Targets (issue 5, scale-out and channels), wsgate:')
    log(targetsText(targets))
  }
  if (warnings.length > 0) {
    log('')
    log(`Warnings (${warnings.length}):`)
    for (const w of warnings) log(`  - ${w}`)
  }

  mkdirSync(outDir, { recursive: true })
  const markdown = markdownReport(fullMeta, results, opts.servers, targets, warnings, settings)
  const json = { meta: fullMeta, options: opts, settings, wsgate: wsgateEnv, metrics: results.toJSON(), targets, warnings, details }
  const svg = panelsSvg(`wsgate vs raw ws vs Socket.IO — ${meta.mode} run, ${meta.date.slice(0, 10)}`,
    `median of ${opts.rounds} interleaved rounds, whiskers min–max; ${meta.cores} cores, Node ${meta.node}; server CPU from /proc/<pid>/stat`,
    chartPanels(results, opts.servers, memoryKey))
  for (const name of [base, 'latest']) {
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`)
    writeFileSync(join(outDir, `${name}.svg`), svg)
    writeFileSync(join(outDir, `${name}.md`), markdown)
  }
  log('')
  log(`Wrote ${relative(process.cwd(), join(outDir, base))}.{json,svg,md} (and latest.*) in ${formatNumber(seconds, 0)} s.`)
  if (opts.profile) {
    for (const server of opts.servers) {
      for (const file of profileFiles(join(profileDir, server))) {
        log('')
        log(`CPU profile of ${SERVER_LABEL[server]} (${threadOf(file)}), self time (${relative(process.cwd(), file)}):`)
        log(summarizeProfile(file, REPO, 20))
      }
    }
  }
  log('')
  log('--- markdown summary for docs/BENCHMARKS.md ---')
  log(markdown)
}

async function soak (opts: Options, ctx: CaseContext, setup: ServerSetup, meta: Omit<RunMeta, 'loadEnd' | 'seconds'>): Promise<void> {
  log(`soak: ${opts.sockets.toLocaleString('en-US')} sockets to wsgate, ${opts.trickle} msg/s for ${opts.minutes} min, samples every ${opts.sampleSeconds} s`)
  const result = await runSoak(ctx, setup)
  const title = `Soak, ${meta.date} — ${opts.minutes} min, ${result.sockets.toLocaleString('en-US')} sockets`
  const settings = `\`${meta.command}\` — ${meta.cpu}, ${meta.cores} cores, Node ${meta.node}; load average ${meta.loadStart} at start, ${loadAverage()} at end; wsgate at ${meta.wsgateCommit}. ` +
    `RSS from /proc/<pid>/status; V8 heap and the forced full GCs through the inspector (node --inspect on 127.0.0.1).`
  const markdown = soakMarkdown(title, result, settings)
  const outDir = resolve(opts.out)
  mkdirSync(outDir, { recursive: true })
  const base = `soak-${stamp(new Date(meta.date))}`
  writeFileSync(join(outDir, `${base}.json`), `${JSON.stringify({ meta, options: opts, result }, null, 2)}\n`)
  writeFileSync(join(outDir, `${base}.svg`), soakSvg(title, 'RSS (/proc) and V8 heap used (inspector); GC forced at start and end', result))
  writeFileSync(join(outDir, `${base}.md`), markdown)
  log('')
  log(markdown)
  log(`Wrote ${relative(process.cwd(), join(outDir, base))}.{json,svg,md}`)
}

async function main (): Promise<number> {
  let opts: Options
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`)
      return 2
    }
    throw err
  }
  if (opts.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const started = Date.now()
  const needsWsgate = opts.mode === 'soak' || opts.servers.includes('wsgate')
  const fdLimit = childFdLimit()
  const wantedFds = (opts.mode === 'soak' ? opts.sockets : Math.max(opts.handshakes, ...opts.memory)) + 1000
  if (fdLimit < wantedFds / Math.min(2, opts.clients)) {
    log(`warning: children get an open-files limit of ${fdLimit}; ${wantedFds} sockets may not fit (raise the hard limit: ulimit -Hn)`)
  }
  if (opts.build && needsWsgate) {
    log('building wsgate (npm run build)…')
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' })
    if (built.status !== 0) {
      process.stderr.write('npm run build failed; fix the build or run with --servers raw,sio\n')
      return 1
    }
  }
  const scripts = await compileChildren(REPO, join(REPO, 'dist', 'bench'))
  const tmpDir = mkdtempSync(join(tmpdir(), 'wsgate-bench-'))
  const setup: ServerSetup = {
    repo: REPO,
    buildDir: join(REPO, 'dist', 'bench'),
    tmpDir,
    secret: BENCH_SECRET,
    wsgateEnv: opts.env,
    distFingerprint: distFingerprint(join(REPO, 'dist', 'src'))
  }
  const date = new Date(started).toISOString()
  const meta = {
    date,
    mode: opts.mode === 'soak' ? 'soak' : opts.smoke ? 'smoke' : opts.quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    node: process.versions.node,
    cpu: cpuModel(),
    cores: availableParallelism(),
    loadStart: loadAverage(),
    fdLimit,
    rounds: opts.mode === 'soak' ? 1 : opts.rounds,
    wsgateCommit: gitDescribe()
  }
  log(`${meta.mode} run: ${opts.mode === 'soak' ? 'wsgate' : opts.servers.map((s) => SERVER_LABEL[s]).join(', ')}; ${meta.cores} cores; load average ${meta.loadStart}; scratch ${tmpDir}`)
  const pool = await WorkerPool.start(scripts.load, opts.clients)
  const ctx: CaseContext = { opts, pool, scripts: { bcryptTime: scripts['bcrypt-time'], stormClients: scripts['storm-clients'], loopProbe: scripts['loop-probe'] }, log }
  try {
    if (opts.mode === 'soak') await soak(opts, ctx, setup, meta)
    else await runBench(opts, ctx, setup, meta, started)
  } finally {
    await pool.stop()
    rmSync(tmpDir, { recursive: true, force: true })
  }
  return 0
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren()
    process.exit(130)
  })
}
process.on('exit', () => { killChildren() })

main().then((code) => { process.exit(code) }, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  killChildren()
  process.exit(1)
})

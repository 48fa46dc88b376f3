import type { ServerName } from './args.js'
import type { MetricValue } from './cases.js'
import { SERVER_LABEL } from './servers.js'
import { pairedRatios, summarize, type Summary } from './stats.js'

export type MetricDef = Omit<MetricValue, 'value'>

export interface Series {
  readonly def: MetricDef
  /** Per server, one value per round (NaN where a round has none), so rounds pair up. */
  readonly values: Partial<Record<ServerName, number[]>>
}

/** Every figure of a run, by metric, server and round. */
export class Results {
  readonly series = new Map<string, Series>()

  add (server: ServerName, round: number, m: MetricValue): void {
    let s = this.series.get(m.key)
    if (s === undefined) {
      const { value: _value, ...def } = m
      s = { def, values: {} }
      this.series.set(m.key, s)
    }
    const list = s.values[server] ?? []
    while (list.length < round) list.push(Number.NaN)
    list[round] = m.value
    s.values[server] = list
  }

  /** One round's figure, if that round has one. */
  value (key: string, server: ServerName, round: number): number | undefined {
    const v = this.series.get(key)?.values[server]?.[round]
    return v === undefined || Number.isNaN(v) ? undefined : v
  }

  summary (key: string, server: ServerName): Summary | undefined {
    const values = this.series.get(key)?.values[server]
    return values === undefined ? undefined : summarize(values)
  }

  /** a ÷ b per round, summarized (the rounds are interleaved, so each pair shares a moment). */
  ratio (key: string, a: ServerName, b: ServerName): Summary | undefined {
    const s = this.series.get(key)
    const x = s?.values[a]
    const y = s?.values[b]
    if (x === undefined || y === undefined) return undefined
    return summarize(pairedRatios(x, y))
  }

  toJSON (): Array<{ key: string, label: string, unit: string, better: string, values: Partial<Record<ServerName, number[]>>, median: Partial<Record<ServerName, Summary>> }> {
    return [...this.series.entries()].map(([key, s]) => {
      const med: Partial<Record<ServerName, Summary>> = {}
      for (const server of Object.keys(s.values) as ServerName[]) {
        const sum = this.summary(key, server)
        if (sum !== undefined) med[server] = sum
      }
      return { key, label: s.def.label, unit: s.def.unit, better: s.def.better, values: s.values, median: med }
    })
  }
}

export function formatNumber (value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const d = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? Math.min(digits, 1) : digits
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

export function formatSummary (s: Summary | undefined, digits: number, suffix = ''): string {
  if (s === undefined) return '—'
  const mid = formatNumber(s.median, digits) + suffix
  return s.n > 1 ? `${mid} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})` : mid
}

interface Row {
  readonly label: string
  readonly cells: string[]
}

function columns (servers: readonly ServerName[]): { headers: string[], ratios: Array<[ServerName, ServerName]> } {
  const ratios: Array<[ServerName, ServerName]> = []
  if (servers.includes('wsgate')) {
    if (servers.includes('raw')) ratios.push(['wsgate', 'raw'])
    if (servers.includes('sio')) ratios.push(['wsgate', 'sio'])
  }
  return {
    headers: ['measure', ...servers.map((s) => SERVER_LABEL[s]), ...ratios.map(([a, b]) => `${SERVER_LABEL[a]} ÷ ${SERVER_LABEL[b]}`)],
    ratios
  }
}

function rows (results: Results, servers: readonly ServerName[]): { headers: string[], rows: Row[] } {
  const { headers, ratios } = columns(servers)
  const out: Row[] = []
  for (const [key, s] of results.series) {
    const cells = servers.map((server) => formatSummary(results.summary(key, server), s.def.digits))
    for (const [a, b] of ratios) cells.push(formatSummary(results.ratio(key, a, b), 2, '×'))
    out.push({ label: `${s.def.label} (${s.def.unit})`, cells })
  }
  return { headers, rows: out }
}

/** A plain-text table for the terminal. */
export function textTable (results: Results, servers: readonly ServerName[]): string {
  const { headers, rows: body } = rows(results, servers)
  const all = [headers, ...body.map((r) => [r.label, ...r.cells])]
  const widths = headers.map((_, i) => Math.max(...all.map((line) => (line[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((r) => line([r.label, ...r.cells]))].join('\n')
}

export function markdownTable (results: Results, servers: readonly ServerName[]): string {
  const { headers, rows: body } = rows(results, servers)
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...body.map((r) => `| ${[r.label, ...r.cells].join(' | ')} |`)
  ].join('\n')
}

// --- targets (issue 5, scale-out and channels) ----------------------------------------------

interface LimitTarget {
  readonly measure: string
  readonly target: string
  readonly key: string
  /** Compare wsgate to this server; absent: the metric is already a ratio. */
  readonly vs?: ServerName
  readonly op: '<=' | '>='
  readonly limit: number
}

/** A figure to report with no limit to meet: its metrics, each with the unit it is shown in. */
interface ReportedTarget {
  readonly measure: string
  readonly target: string
  readonly op: 'report'
  readonly shown: ReadonlyArray<{ readonly key: string, readonly unit: string }>
}

type TargetDef = LimitTarget | ReportedTarget

export interface TargetRow {
  readonly measure: string
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
  readonly median: number | undefined
}

export function targetDefs (memoryKey: string): TargetDef[] {
  return [
    { measure: 'fan-out: server CPU µs per delivery', target: '≤ 1.0× raw ws', key: 'fanout.sat.cpuUs', vs: 'raw', op: '<=', limit: 1.0 },
    { measure: 'fan-out: server CPU µs per delivery', target: '≤ 0.75× Socket.IO', key: 'fanout.sat.cpuUs', vs: 'sio', op: '<=', limit: 0.75 },
    { measure: 'fan-out: server CPU µs per delivery (stretch)', target: '≤ 0.8× raw ws', key: 'fanout.sat.cpuUs', vs: 'raw', op: '<=', limit: 0.8 },
    { measure: 'fan-out, 1 instance: server CPU µs per delivery (scale-out keeps the lead)', target: '≤ 0.35× raw ws', key: 'fanout.sat.cpuUs', vs: 'raw', op: '<=', limit: 0.35 },
    { measure: 'fan-out, 2 instances on Redis: CPU per delivery (A + B + Redis) ÷ 1 instance', target: '≤ 1.5', key: 'fanout2.cpuRatio', op: '<=', limit: 1.5 },
    { measure: 'fan-out: delivered msg/s at saturation', target: '≥ 0.9× raw ws', key: 'fanout.sat.rate', vs: 'raw', op: '>=', limit: 0.9 },
    { measure: 'handshake: server CPU µs per authenticated connection', target: '≤ 1.3× raw ws', key: 'handshake.cpuUs', vs: 'raw', op: '<=', limit: 1.3 },
    { measure: 'RSS per idle authenticated socket', target: '≤ 1.2× raw ws', key: memoryKey, vs: 'raw', op: '<=', limit: 1.2 },
    { measure: 'login storm: p99 ÷ idle p99', target: '≤ 1.5', key: 'storm.ratio', op: '<=', limit: 1.5 },
    { measure: '/token logins/s ÷ bcrypt limit', target: '≥ 0.9', key: 'token.ratio', op: '>=', limit: 0.9 },
    { measure: 'fan-out to 1 of 1 000 channels: CPU per delivery ÷ global (fanout case, same round)', target: '≤ 1.1', key: 'channels.cpuRatio', op: '<=', limit: 1.1 },
    { measure: 'channel history: CPU per delivery, history on ÷ off', target: '≤ 1.1', key: 'channels.historyRatio', op: '<=', limit: 1.1 },
    {
      measure: 'recovery: 1 000 reconnecting clients, 100 missed messages each',
      target: 'reported (ms, server CPU)',
      op: 'report',
      shown: [{ key: 'channels.recover.ms', unit: ' ms' }, { key: 'channels.recover.cpuMs', unit: ' ms CPU' }]
    }
  ]
}

export function targetRows (results: Results, memoryKey: string): TargetRow[] {
  return targetDefs(memoryKey).map((t) => {
    if (t.op === 'report') {
      const parts = t.shown.map(({ key, unit }) => ({ s: results.summary(key, 'wsgate'), unit }))
      const first = parts[0]?.s
      if (first === undefined) return { measure: t.measure, target: t.target, measured: 'not measured', met: undefined, median: undefined }
      return { measure: t.measure, target: t.target, measured: parts.map(({ s, unit }) => formatSummary(s, 0, unit)).join('; '), met: undefined, median: first.median }
    }
    const s = t.vs === undefined ? results.summary(t.key, 'wsgate') : results.ratio(t.key, 'wsgate', t.vs)
    if (s === undefined) return { measure: t.measure, target: t.target, measured: 'not measured', met: undefined, median: undefined }
    const met = t.op === '<=' ? s.median <= t.limit : s.median >= t.limit
    const suffix = t.vs === undefined ? '' : `× ${SERVER_LABEL[t.vs]}`
    return { measure: t.measure, target: t.target, measured: formatSummary(s, 2, suffix), met, median: s.median }
  })
}

export function targetsMarkdown (rowsOf: readonly TargetRow[]): string {
  return [
    '| measure | target | measured (wsgate, median and min–max of rounds) | met |',
    '|---|---|---|---|',
    ...rowsOf.map((r) => `| ${r.measure} | ${r.target} | ${r.measured} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`)
  ].join('\n')
}

export function targetsText (rowsOf: readonly TargetRow[]): string {
  const w = Math.max(...rowsOf.map((r) => r.measure.length))
  const t = Math.max(...rowsOf.map((r) => r.target.length))
  return rowsOf.map((r) => `${r.measure.padEnd(w)}  ${r.target.padEnd(t)}  ${(r.met === undefined ? '  -  ' : r.met ? ' met ' : 'MISS ')}  ${r.measured}`).join('\n')
}

export interface RunMeta {
  readonly date: string
  readonly mode: string
  readonly command: string
  readonly node: string
  readonly cpu: string
  readonly cores: number
  readonly loadStart: string
  readonly loadEnd: string
  readonly fdLimit: number
  readonly rounds: number
  readonly seconds: number
  readonly wsgateCommit: string
}

export function markdownReport (meta: RunMeta, results: Results, servers: readonly ServerName[], targets: readonly TargetRow[], warnings: readonly string[], settings: string): string {
  const lines = [
    `### ${meta.mode} run, ${meta.date}`,
    '',
    `\`${meta.command}\` — ${meta.rounds} interleaved rounds, ${Math.round(meta.seconds)} s in all. ` +
      `${meta.cpu}, ${meta.cores} cores, Node ${meta.node}, open-files limit ${meta.fdLimit}; ` +
      `load average ${meta.loadStart} at start, ${meta.loadEnd} at end; wsgate at ${meta.wsgateCommit}.`,
    '',
    settings,
    '',
    'Medians of the rounds, min–max in parentheses; ratios are medians of per-round ratios.',
    '',
    markdownTable(results, servers),
    ''
  ]
  if (servers.includes('wsgate')) lines.push('Targets (issue 5, scale-out and channels):', '', targetsMarkdown(targets), '')
  if (warnings.length > 0) lines.push('Warnings from this run:', '', ...warnings.map((w) => `- ${w}`), '')
  return lines.join('\n')
}

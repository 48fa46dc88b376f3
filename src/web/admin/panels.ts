import { byId, clock, duration, h } from '../dom.js'

/** The figures that add up across instances: `total` of `stats_update`, and part of each row. */
export interface Totals {
  instanceCount?: number
  connections?: number
  users?: number
  pending?: number
  messagesInPerSecond?: number
  messagesOutPerSecond?: number
  authSuccessesLastMinute?: number
  authFailuresLastMinute?: number
}

export interface InstanceRow extends Totals {
  instanceId?: string
  uptimeSeconds?: number
}

/** The `stats_update` body (docs/PROTOCOL.md, Admin); every field optional so an older server still renders. */
export interface Stats extends InstanceRow {
  memory?: { rss?: number, heapUsed?: number }
  eventLoopDelayMs?: { p50?: number, p99?: number, max?: number }
  /** Every instance heard from, this one included; absent on a server that predates scale-out. */
  instances?: InstanceRow[]
  /** The sum over `instances`: what the cards show when present. */
  total?: Totals
  /** The deployment's subscribers per channel, the top 100; absent on a server without channel stats. */
  channels?: ChannelRow[]
}

export interface ChannelRow {
  channel: string
  subscribers: number
}

export interface AuditItem {
  id: number
  at: string
  kind: string
  username: string | null
  ip: string
  outcome: string
  reason: string | null
}

const num = (value: number | undefined, digits = 0): string => value === undefined ? '–' : value.toFixed(digits)
const mib = (bytes: number | undefined): string => bytes === undefined ? '–' : `${(bytes / 1048576).toFixed(0)} MiB`

export function renderStats (stats: Stats): void {
  // The cards show the whole deployment; memory, loop delay and uptime stay this instance's.
  const sums: Totals = stats.total ?? stats
  byId('stat-connections', HTMLDivElement).textContent = num(sums.connections)
  byId('stat-users', HTMLDivElement).textContent = num(sums.users)
  byId('stat-pending', HTMLDivElement).textContent = num(sums.pending)
  byId('stat-in', HTMLDivElement).textContent = num(sums.messagesInPerSecond, 1)
  byId('stat-out', HTMLDivElement).textContent = num(sums.messagesOutPerSecond, 1)
  byId('stat-auth-ok', HTMLDivElement).textContent = num(sums.authSuccessesLastMinute)
  byId('stat-auth-fail', HTMLDivElement).textContent = num(sums.authFailuresLastMinute)
  byId('card-auth-fail', HTMLDivElement).classList.toggle('bad', (sums.authFailuresLastMinute ?? 0) > 0)
  byId('stat-memory', HTMLDivElement).textContent = `${mib(stats.memory?.rss)} / ${mib(stats.memory?.heapUsed)}`
  byId('stat-loop', HTMLDivElement).textContent = stats.eventLoopDelayMs?.p99 === undefined ? '–' : `${stats.eventLoopDelayMs.p99.toFixed(1)} ms`
  byId('stat-uptime', HTMLDivElement).textContent = stats.uptimeSeconds === undefined ? '–' : duration(stats.uptimeSeconds)
  byId('instance', HTMLSpanElement).textContent = stats.instanceId === undefined ? '' : `instance ${stats.instanceId}`
}

/** One row per instance and a total row; the instance this dashboard's socket is on is marked. */
export function renderInstances (tbody: HTMLTableSectionElement, stats: Stats): void {
  const rows = stats.instances ?? []
  if (rows.length === 0) {
    tbody.replaceChildren(emptyRow(8, 'This server reports no instance rows'))
    return
  }
  const cells = (row: InstanceRow): HTMLTableCellElement[] => [
    h('td', {}, num(row.connections)), h('td', {}, num(row.users)), h('td', {}, num(row.pending)),
    h('td', {}, num(row.messagesInPerSecond, 1)), h('td', {}, num(row.messagesOutPerSecond, 1)),
    h('td', {}, num(row.authFailuresLastMinute))
  ]
  tbody.replaceChildren(
    ...rows.map((row) => h('tr', { 'data-instance': row.instanceId ?? '' },
      h('td', { class: 'mono' }, row.instanceId ?? '–', row.instanceId === stats.instanceId ? h('span', { class: 'muted' }, ' (this one)') : null),
      ...cells(row),
      h('td', {}, row.uptimeSeconds === undefined ? '–' : duration(row.uptimeSeconds)))),
    h('tr', { class: 'total' }, h('td', {}, h('b', {}, `Total · ${rows.length}`)), ...cells(stats.total ?? {}), h('td', {}, ''))
  )
}

/** The busiest channels, as the server ranks them; a server that predates channel stats says so. */
export function renderChannels (tbody: HTMLTableSectionElement, stats: Stats): void {
  const rows = stats.channels
  if (rows === undefined) {
    tbody.replaceChildren(emptyRow(2, 'This server reports no channel stats'))
    return
  }
  if (rows.length === 0) {
    tbody.replaceChildren(emptyRow(2, 'No channel has subscribers'))
    return
  }
  tbody.replaceChildren(...rows.map((row) => h('tr', { 'data-channel': row.channel },
    h('td', { class: 'mono' }, row.channel),
    h('td', {}, num(row.subscribers)))))
}

export function emptyRow (columns: number, text: string): HTMLTableRowElement {
  return h('tr', {}, h('td', { class: 'empty', colspan: String(columns) }, text))
}

export function when (iso: string): string {
  const at = new Date(iso)
  if (Number.isNaN(at.getTime())) return iso
  const time = clock(at.getTime()).slice(0, 8)
  return at.toDateString() === new Date().toDateString() ? time : `${at.toLocaleDateString()} ${time}`
}

export function renderFailures (tbody: HTMLTableSectionElement, items: AuditItem[]): void {
  if (items.length === 0) {
    tbody.replaceChildren(emptyRow(5, 'No failed attempts'))
    return
  }
  tbody.replaceChildren(...items.map((item) => h('tr', { 'data-audit-id': String(item.id) },
    h('td', { class: 'mono', title: item.at }, when(item.at)),
    h('td', {}, item.kind),
    h('td', {}, item.username ?? h('span', { class: 'muted' }, '–')),
    h('td', { class: 'mono' }, item.ip),
    h('td', {}, item.reason ?? ''))))
}

import { TokenSession, WsgateClient, WsgateHttpError, type ConnectionStatus, type ServerMessage, type StatusInfo } from '../../client/index.js'
import { byId, errorText, notice, wsOrigin } from '../dom.js'
import { drawChart } from './chart.js'
import { auditPanel } from './audit-panel.js'
import { renderChannels, renderFailures, renderInstances, renderStats, type AuditItem, type Stats } from './panels.js'
import { usersPanel, type Api } from './users-panel.js'

/*
 * The admin dashboard: live stats over /admin/ws, user management
 * (users-panel.ts), the latest auth failures and the audit log (audit-panel.ts). Tokens live in memory only, as on the test page.
 */

const ui = {
  status: byId('status', HTMLSpanElement),
  whoami: byId('whoami', HTMLSpanElement),
  logout: byId('logout', HTMLButtonElement),
  loginPanel: byId('login-panel', HTMLElement),
  loginForm: byId('login-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  login: byId('login', HTMLButtonElement),
  loginError: byId('login-error', HTMLParagraphElement),
  dashboard: byId('dashboard', HTMLDivElement),
  failures: byId('failures-table', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
  instances: document.querySelector<HTMLTableElement>('#instances-table')?.tBodies[0] ?? null,
  channels: byId('channels-table', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
  reloadUsers: byId('reload-users', HTMLButtonElement),
  reloadFailures: byId('reload-failures', HTMLButtonElement),
  broadcastForm: byId('broadcast-form', HTMLFormElement),
  broadcastText: byId('broadcast-text', HTMLInputElement),
  chartConnections: document.querySelector<SVGSVGElement>('#chart-connections'),
  chartMessages: document.querySelector<SVGSVGElement>('#chart-messages')
}

/** Samples kept for the charts: 60 updates, five minutes at the default 5 s interval. */
const CAPACITY = 60
/** The REST panels are polled; the socket only carries stats. */
const POLL_MS = 10_000

let session: TokenSession | undefined
let client: WsgateClient | undefined
let poller: ReturnType<typeof setInterval> | undefined
let samples: Array<{ at: number, connections: number, users: number, in: number, out: number }> = []
let lastFailures = -1
let commandSeq = 0

function endDashboard (why: string | undefined): void {
  clearInterval(poller)
  client?.disconnect()
  client = undefined
  session = undefined
  users.reset()
  ui.dashboard.hidden = true
  ui.whoami.hidden = true
  ui.logout.hidden = true
  ui.loginPanel.hidden = false
  ui.loginError.textContent = why ?? ''
  ui.password.focus()
}

/** A REST call for the dashboard; dead credentials send the admin back to the login form, other refusals show in the notice. */
const api: Api = async <T>(path: string, init: { method?: string, json?: unknown } = {}) => {
  const current = session
  if (current === undefined) return undefined
  try {
    return { value: await current.request<T>(path, init) }
  } catch (err) {
    if (current !== session) return undefined
    if (err instanceof WsgateHttpError && err.status === 401) endDashboard(`Session ended (${err.description}). Log in again.`)
    else notice(`${init.method ?? 'GET'} ${path}: ${errorText(err)}`, true)
    return undefined
  }
}

const users = usersPanel(api, () => session?.username, kick)
const audit = auditPanel(api)

async function loadFailures (): Promise<void> {
  const page = await api<{ items: AuditItem[] }>('/admin/audit?outcome=failure&limit=20')
  if (page !== undefined) renderFailures(ui.failures, page.value.items)
}

function command (fields: Record<string, string>): void {
  const sent = client?.send({ type: 'admin_command', requestId: `cmd-${++commandSeq}`, ...fields }) ?? false
  if (!sent) notice('Not connected to /admin/ws: try again in a moment.', true)
}

function kick (username: string): void {
  command({ command: 'kick', user: username })
}

function onStats (stats: Stats): void {
  renderStats(stats)
  if (ui.instances !== null) renderInstances(ui.instances, stats)
  renderChannels(ui.channels, stats)
  const sums = stats.total ?? stats
  samples = [...samples, {
    at: Date.now(),
    connections: sums.connections ?? 0,
    users: sums.users ?? 0,
    in: sums.messagesInPerSecond ?? 0,
    out: sums.messagesOutPerSecond ?? 0
  }].slice(-CAPACITY)
  const first = samples[0]
  const span = first === undefined ? 0 : (Date.now() - first.at) / 1000
  const caption = `last ${samples.length} updates · ${span < 10 ? span.toFixed(1) : Math.round(span)} s`
  if (ui.chartConnections !== null) drawChart(ui.chartConnections, [{ values: samples.map((s) => s.connections), tone: 's0' }, { values: samples.map((s) => s.users), tone: 's1' }], CAPACITY, caption)
  if (ui.chartMessages !== null) drawChart(ui.chartMessages, [{ values: samples.map((s) => s.in), tone: 's1' }, { values: samples.map((s) => s.out), tone: 's2' }], CAPACITY, caption)
  // A new failure shows in the table without waiting for the poll.
  const failures = sums.authFailuresLastMinute ?? 0
  if (lastFailures !== -1 && failures > lastFailures) void loadFailures()
  lastFailures = failures
}

function onMessage (message: ServerMessage): void {
  if (message.type === 'stats_update') {
    onStats(message as Stats)
  } else if (message.type === 'admin_command_result') {
    const target = typeof message.user === 'string' ? ` ${message.user}` : ''
    notice(message.ok === true ? `${String(message.command)}${target}: done` : `${String(message.command)}${target} failed: ${String(message.error ?? '')}`, message.ok !== true)
  } else if (message.type === 'error') {
    notice(`Refused: ${String(message.message ?? message.code)}`, true)
  }
}

function onStatus (status: ConnectionStatus, info: StatusInfo): void {
  ui.status.textContent = status === 'reconnecting' && info.delayMs !== undefined
    ? `reconnecting in ${(info.delayMs / 1000).toFixed(1)} s`
    : status
  ui.status.dataset.status = status
  ui.status.title = info.close === undefined ? '' : `last close: ${info.close.code} ${info.close.reason}`
  if (status === 'needs-login') endDashboard(`Session ended (${info.close?.reason ?? info.error ?? 'credentials refused'}). Log in again.`)
}

async function start (next: TokenSession): Promise<void> {
  const me = await next.request<{ username: string, roles: string[] }>('/me')
  if (!me.roles.includes('admin')) {
    await next.logout().catch(() => {})
    throw new Error(`${me.username} is not an admin`)
  }
  session = next
  samples = []
  lastFailures = -1
  ui.loginPanel.hidden = true
  ui.loginError.textContent = ''
  ui.dashboard.hidden = false
  ui.whoami.hidden = false
  ui.logout.hidden = false
  ui.whoami.textContent = me.username
  client = new WsgateClient({ url: `${wsOrigin()}/admin/ws`, getToken: next.getToken, transport: 'subprotocol', onMessage, onStatus })
  client.connect()
  await Promise.all([users.load(), loadFailures(), audit.load()])
  clearInterval(poller)
  poller = setInterval(() => { void users.load(); void loadFailures() }, POLL_MS)
}

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault()
  ui.login.disabled = true
  ui.loginError.textContent = ''
  TokenSession.login('', ui.username.value, ui.password.value)
    .then(async (next) => {
      ui.password.value = ''
      await start(next)
    })
    .catch((err: unknown) => { ui.loginError.textContent = `Login failed: ${errorText(err)}` })
    .finally(() => { ui.login.disabled = false })
})

ui.logout.addEventListener('click', () => {
  const ending = session
  endDashboard('Logged out.')
  ending?.logout().catch(() => {})
})

ui.reloadUsers.addEventListener('click', () => { void users.load() })
ui.reloadFailures.addEventListener('click', () => { void loadFailures() })
ui.broadcastForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const text = ui.broadcastText.value.trim()
  if (text === '') return
  command({ command: 'broadcast', message: text })
  ui.broadcastText.value = ''
})

ui.username.focus()

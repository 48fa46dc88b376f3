import { byId, h } from '../dom.js'
import { emptyRow, when, type AuditItem } from './panels.js'
import type { Api } from './users-panel.js'

/*
 * The audit log, filtered and paged. The route pages by keyset (`before` =
 * the previous page's `next`), so "newer" walks back a stack of the cursors
 * that led here rather than asking the server for a previous page.
 */

export interface AuditPanel {
  /** Back to the first page with the current filters. */
  load: () => Promise<void>
}

/** A datetime-local value is local time without a zone; the route wants a zone, so it goes as UTC. */
function isoOf (local: string): string | undefined {
  if (local === '') return undefined
  const at = new Date(local)
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString()
}

export function auditPanel (api: Api): AuditPanel {
  const ui = {
    form: byId('audit-filters', HTMLFormElement),
    kind: byId('audit-kind', HTMLSelectElement),
    outcome: byId('audit-outcome', HTMLSelectElement),
    user: byId('audit-user', HTMLInputElement),
    ip: byId('audit-ip', HTMLInputElement),
    from: byId('audit-from', HTMLInputElement),
    to: byId('audit-to', HTMLInputElement),
    limit: byId('audit-limit', HTMLSelectElement),
    rows: byId('audit-table', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
    newer: byId('audit-newer', HTMLButtonElement),
    older: byId('audit-older', HTMLButtonElement),
    page: byId('audit-page', HTMLSpanElement)
  }
  /** The `before` of each page shown so far; the last is this page's (undefined: the newest). */
  let cursors: Array<number | undefined> = [undefined]
  let next: number | null = null

  function query (before: number | undefined): string {
    const params = new URLSearchParams()
    const set = (name: string, value: string | undefined): void => { if (value !== undefined && value !== '') params.set(name, value) }
    set('kind', ui.kind.value)
    set('outcome', ui.outcome.value)
    set('user', ui.user.value.trim())
    set('ip', ui.ip.value.trim())
    set('from', isoOf(ui.from.value))
    set('to', isoOf(ui.to.value))
    set('limit', ui.limit.value)
    set('before', before === undefined ? undefined : String(before))
    return params.toString()
  }

  async function show (): Promise<void> {
    const got = await api<{ items: AuditItem[], next: number | null }>(`/admin/audit?${query(cursors[cursors.length - 1])}`)
    if (got === undefined) return
    next = got.value.next
    const items = got.value.items
    ui.rows.replaceChildren(...(items.length === 0
      ? [emptyRow(6, 'No entries match')]
      : items.map((item) => h('tr', { 'data-audit-id': String(item.id), class: item.outcome === 'failure' ? 'failure' : '' },
        h('td', { class: 'mono', title: item.at }, when(item.at)),
        h('td', {}, item.kind),
        h('td', {}, item.username ?? h('span', { class: 'muted' }, '–')),
        h('td', { class: 'mono' }, item.ip),
        h('td', {}, item.outcome),
        h('td', {}, item.reason ?? '')))))
    ui.page.textContent = `page ${cursors.length}`
    ui.newer.disabled = cursors.length === 1
    ui.older.disabled = next === null
  }

  async function load (): Promise<void> {
    cursors = [undefined]
    await show()
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault()
    void load()
  })
  ui.older.addEventListener('click', () => {
    if (next === null) return
    cursors = [...cursors, next]
    void show()
  })
  ui.newer.addEventListener('click', () => {
    if (cursors.length === 1) return
    cursors = cursors.slice(0, -1)
    void show()
  })

  return { load }
}

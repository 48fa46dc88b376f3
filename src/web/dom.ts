/** Small DOM helpers shared by the two pages; no framework. */

export function byId<T extends HTMLElement> (id: string, kind: { new (): T, prototype: T, name: string }): T {
  const element = document.getElementById(id)
  if (!(element instanceof kind)) throw new Error(`#${id} is missing or is not a ${kind.name}`)
  return element
}

type Child = Node | string | null | undefined | false

/** `h('td', { class: 'num' }, '3')`. Text goes in as text nodes, never as HTML. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') element.className = value
    else element.setAttribute(name, value)
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child)
  return element
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** HH:MM:SS.mmm in local time. */
export function clock (ms: number = Date.now()): string {
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** `2 h 5 min`, `4 min 10 s`, `12 s`. */
export function duration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${s} s`
}

/** The WebSocket origin of this page: ws://host or wss://host. */
export function wsOrigin (): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}

/** A message from an error, preferring the server's own description. */
export function errorText (err: unknown): string {
  if (typeof err === 'object' && err !== null && 'description' in err && typeof err.description === 'string') return err.description
  return err instanceof Error ? err.message : String(err)
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined

/** A toast in the corner for a few seconds. */
export function notice (text: string, bad = false): void {
  let box = document.getElementById('notice')
  if (box === null) {
    box = h('div', { id: 'notice', class: 'notice', role: 'status' })
    document.body.append(box)
  }
  box.textContent = text
  box.className = bad ? 'notice bad' : 'notice'
  box.hidden = false
  clearTimeout(noticeTimer)
  noticeTimer = setTimeout(() => { if (box !== null) box.hidden = true }, 5000)
}

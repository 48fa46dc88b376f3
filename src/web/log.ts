import { maskSecrets, type CloseInfo, type ServerMessage } from '../client/index.js'
import { clock, h } from './dom.js'

const ADVICE: Record<CloseInfo['action'], string> = {
  login: 'the credentials are dead: log in again',
  refresh: 'refreshing the token, then reconnecting',
  reconnect: 'reconnecting with backoff',
  stop: 'not reconnecting'
}

function pretty (value: unknown): string {
  const oneLine = JSON.stringify(maskSecrets(value))
  return oneLine.length <= 100 ? oneLine : JSON.stringify(maskSecrets(value), null, 2)
}

function field (label: string, value: string, className: string): HTMLElement {
  return h('span', { class: className }, `${label} `, h('b', {}, value))
}

/** The stamp the server puts on broadcasts, shown apart from the payload. */
function meta (message: ServerMessage): HTMLElement | null {
  const parts: HTMLElement[] = []
  if (typeof message.user === 'string') parts.push(field('user', message.user, 'meta-user'))
  if (typeof message.timestamp === 'number') parts.push(field('timestamp', `${message.timestamp} (${new Date(message.timestamp * 1000).toISOString()})`, 'meta-time'))
  if (typeof message.requestId === 'string') parts.push(field('requestId', message.requestId, 'meta-rid'))
  if (typeof message.connectionId === 'string') parts.push(field('connectionId', message.connectionId, 'meta-conn'))
  if (typeof message.expiresAt === 'number') parts.push(field('expires', new Date(message.expiresAt * 1000).toLocaleTimeString(), 'meta-exp'))
  return parts.length === 0 ? null : h('div', { class: 'meta' }, ...parts)
}

/** The message log of the test page: received, sent, closes and status lines. */
export class MessageLog {
  constructor (private readonly list: HTMLOListElement, private readonly max = 500) {}

  private add (kind: string, glyph: string, title: string, ...body: Array<Node | null>): void {
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40
    const entry = h('li', { class: `entry ${kind}` },
      h('span', { class: 'at' }, clock()),
      h('span', { class: 'dir', 'aria-hidden': 'true' }, glyph),
      h('div', { class: 'body' }, h('span', { class: 'type' }, title), ...body))
    this.list.append(entry)
    while (this.list.children.length > this.max) this.list.firstElementChild?.remove()
    if (stick) this.list.scrollTop = this.list.scrollHeight
  }

  incoming (message: ServerMessage): void {
    const kind = message.type === 'error' || message.type === 'auth_failed' ? 'in error' : 'in'
    this.add(kind, '←', message.type, meta(message), h('pre', {}, pretty(message)))
  }

  outgoing (message: unknown): void {
    const type = typeof message === 'object' && message !== null && 'type' in message ? String(message.type) : 'message'
    this.add('out', '→', type, h('pre', {}, pretty(message)))
  }

  close (close: CloseInfo): void {
    this.add('close', '✕', `closed ${close.code} ${close.reason === '' ? '(no reason)' : close.reason}`,
      h('div', { class: 'meta close-advice' }, ADVICE[close.action]))
  }

  system (text: string): void {
    this.add('sys', '•', text)
  }

  clear (): void {
    this.list.replaceChildren()
  }
}

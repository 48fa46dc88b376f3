import type { ChannelHandlers, ChannelMember, WsgateClient } from '../client/index.js'
import { errorText, h } from './dom.js'
import type { MessageLog } from './log.js'

interface Shown {
  members?: ChannelMember[]
  error?: string
}

/**
 * The test page's channels: the ones asked for, each with the SDK's offset
 * and epoch, a presence button and a leave button. The page keeps the names,
 * so a new client (another Connect) subscribes to the same ones; the SDK
 * itself recovers them across the reconnects of one client.
 */
export class ChannelsPanel {
  private readonly wanted = new Map<string, Shown>()
  private client: WsgateClient | undefined

  constructor (private readonly list: HTMLUListElement, private readonly log: MessageLog) {
    this.render()
  }

  /** A new client (or none): the channels asked for so far follow it. */
  attach (client: WsgateClient | undefined): void {
    this.client = client
    for (const name of this.wanted.keys()) client?.subscribe(name, this.handlers(name))
    this.render()
  }

  follow (name: string): void {
    if (this.wanted.has(name)) return
    this.wanted.set(name, {})
    this.client?.subscribe(name, this.handlers(name))
    this.log.system(`Subscribing to ${name}${this.client === undefined ? ' once connected' : ''}`)
    this.render()
  }

  private leave (name: string): void {
    this.wanted.delete(name)
    this.client?.unsubscribe(name)
    this.log.system(`Left ${name}`)
    this.render()
  }

  private handlers (name: string): ChannelHandlers {
    return {
      onMessage: () => { this.render() },
      onSubscribed: (state) => {
        const how = state.recovered === true ? ', missed messages recovered' : ''
        this.log.system(`Subscribed to ${name} at offset ${state.offset ?? '?'}, epoch ${state.epoch ?? '?'}${how}`)
        this.render()
      },
      onRecoveryFailed: () => { this.log.system(`${name}: the missed messages could not be recovered (history lost): reload its state`) },
      onUnsubscribed: (removal) => {
        this.wanted.delete(name)
        this.log.system(`${name}: removed by the server (${removal.reason}${removal.message !== undefined ? `: ${removal.message}` : ''})`)
        this.render()
      },
      onJoin: (member) => { this.log.system(`${name}: ${member.user} joined (${member.connectionId})`) },
      onLeave: (member) => { this.log.system(`${name}: ${member.user} left (${member.connectionId})`) }
    }
  }

  private presence (name: string): void {
    const client = this.client
    if (client === undefined) return
    client.presence(name).then(
      (members) => { this.show(name, { members }) },
      (err: unknown) => { this.show(name, { error: errorText(err) }) })
  }

  private show (name: string, shown: Shown): void {
    if (!this.wanted.has(name)) return
    this.wanted.set(name, shown)
    this.render()
  }

  /** Also on every connection status: the SDK marks channels `subscribing` while the socket is away. */
  render (): void {
    if (this.wanted.size === 0) {
      this.list.replaceChildren(h('li', { class: 'muted empty' }, 'No channels yet: every socket is in global.'))
      return
    }
    this.list.replaceChildren(...[...this.wanted].map(([name, shown]) => {
      const state = this.client?.channel(name)
      const presence = h('button', { type: 'button', class: 'link presence' }, 'Presence')
      presence.disabled = state?.status !== 'subscribed'
      presence.addEventListener('click', () => { this.presence(name) })
      const leave = h('button', { type: 'button', class: 'link leave' }, 'Leave')
      leave.addEventListener('click', () => { this.leave(name) })
      return h('li', { 'data-channel': name },
        h('div', { class: 'row' }, h('b', { class: 'name' }, name), h('span', { class: 'status muted' }, state?.status ?? 'not connected'),
          h('span', { class: 'spacer' }), presence, leave),
        h('div', { class: 'muted' }, 'offset ', h('b', { class: 'offset mono' }, String(state?.offset ?? '–')),
          ' · epoch ', h('b', { class: 'epoch mono' }, state?.epoch ?? '–')),
        shown.error !== undefined ? h('div', { class: 'error' }, `Presence: ${shown.error}`) : null,
        shown.members !== undefined
          ? h('ul', { class: 'members' }, ...shown.members.map((m) => h('li', { 'data-connection': m.connectionId },
            h('b', {}, m.user), ' ', h('span', { class: 'mono muted' }, m.connectionId),
            m.connectionId === this.client?.connectionId ? h('span', { class: 'muted' }, ' (you)') : null)))
          : null)
    }))
  }
}

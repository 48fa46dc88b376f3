import type { FastifyBaseLogger } from 'fastify'
import type { Broker } from '../broker/broker.js'
import type { Presence } from '../channels/presence.js'
import type { ChannelPolicy } from '../channels/policy.js'
import { ReservedType } from '../protocol/index.js'
import type { Hub } from './hub.js'

/** The socket, as presence names it. */
export interface Member {
  readonly username: string
  readonly connectionId: string
}

/**
 * Presence entries and join/leave events for the channels whose namespace
 * turns them on. A socket is entered once its `subscribed` reply is sent and
 * removed whenever it leaves the channel, however it leaves (unsubscribe,
 * taken out by a permission change, closed): the hub reports every departure.
 * Join and leave frames go to the channel's subscribers on every instance;
 * they carry no offset and are not kept in the history.
 */
export class ChannelPresence {
  /** By connection id: the channels in which the socket has a presence entry or announced a join. */
  private readonly entered = new Map<string, Set<string>>()

  constructor (
    hub: Hub,
    private readonly presence: Presence,
    private readonly policy: ChannelPolicy,
    private readonly broker: Broker,
    private readonly log: FastifyBaseLogger
  ) {
    hub.onDeparture((client, channel) => { this.left(client, channel) })
  }

  joined (client: Member, channel: string): void {
    const { presence, joinLeave } = this.policy.options(channel)
    if (!presence && !joinLeave) return
    let channels = this.entered.get(client.connectionId)
    if (channels === undefined) {
      channels = new Set()
      this.entered.set(client.connectionId, channels)
    }
    if (channels.has(channel)) return
    channels.add(channel)
    const entry = { user: client.username, connectionId: client.connectionId }
    if (presence) this.presence.add(channel, entry).catch((err: unknown) => { this.log.warn({ err, channel }, 'presence entry not added') })
    if (joinLeave) this.announce(ReservedType.join, channel, entry)
  }

  private left (client: Member, channel: string): void {
    const channels = this.entered.get(client.connectionId)
    if (channels?.delete(channel) !== true) return
    if (channels.size === 0) this.entered.delete(client.connectionId)
    const { presence, joinLeave } = this.policy.options(channel)
    if (presence) this.presence.remove(channel, client.connectionId).catch((err: unknown) => { this.log.warn({ err, channel }, 'presence entry not removed') })
    if (joinLeave) this.announce(ReservedType.leave, channel, { user: client.username, connectionId: client.connectionId })
  }

  private announce (type: string, channel: string, entry: { user: string, connectionId: string }): void {
    void this.broker.publish({ kind: 'broadcast', channel, frame: JSON.stringify({ type, channel, ...entry }) })
  }
}

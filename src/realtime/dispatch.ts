import { adminAuth, adminMessage } from '../admin/socket-commands.js'
import { ADMIN_CHANNEL, type Connection } from './connection.js'
import type { ClientMessage } from './messages.js'
import { ErrorCode, isChannelName, ReservedType } from '../protocol/index.js'
import { publishMessage } from './publish.js'
import { refreshInBand } from './refresh.js'

/** Routes one message from an authenticated socket. */
export function dispatch (conn: Connection, message: ClientMessage): void {
  switch (message.type) {
    case ReservedType.ping:
      conn.send({ type: ReservedType.pong, timestamp: Date.now() / 1000 })
      return
    case ReservedType.getStatus:
      sendStatus(conn)
      return
    case ReservedType.subscribe:
    case ReservedType.unsubscribe:
      changeSubscription(conn, message)
      return
    case ReservedType.refresh:
      refreshInBand(conn, message)
      return
    case ReservedType.adminAuth:
      adminAuth(conn, message)
      return
    case ReservedType.adminCommand:
    case ReservedType.getStats:
      adminMessage(conn, message)
      return
    case ReservedType.authenticate:
      conn.sendError({ code: ErrorCode.unsupportedType, message: 'Already authenticated; use "refresh" to replace the token' }, message.requestId)
      return
  }
  const published = publishMessage(conn.ctx.broker, message, conn.username, conn.channels)
  if (!published.ok) conn.sendError(published.error, message.requestId)
}

function sendStatus (conn: Connection): void {
  const principal = conn.principal
  if (principal === undefined) return
  conn.send({
    type: ReservedType.status,
    user: principal.username,
    roles: principal.roles,
    expiresAt: principal.exp,
    connectionId: conn.connectionId,
    connections: conn.ctx.hub.connectionsOf(principal.username),
    channels: [...conn.channels]
  })
}

function changeSubscription (conn: Connection, message: ClientMessage): void {
  const { channel } = message
  if (!isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'subscribe and unsubscribe need a "channel" of 1 to 128 letters, digits or _.:@-' }, message.requestId)
    return
  }
  const channels = conn.channels
  if (message.type === ReservedType.subscribe) {
    if (!channels.has(channel) && subscriptionCount(channels) >= conn.ctx.config.wsMaxSubscriptions) {
      conn.sendError({ code: ErrorCode.tooManySubscriptions, message: `A socket may be in at most ${conn.ctx.config.wsMaxSubscriptions} channels, global included; unsubscribe from one first` }, message.requestId)
      return
    }
    channels.add(channel)
    conn.ctx.hub.subscribe(conn, channel)
    conn.send({ type: ReservedType.subscribed, channel })
  } else {
    channels.delete(channel)
    conn.ctx.hub.unsubscribe(conn, channel)
    conn.send({ type: ReservedType.unsubscribed, channel })
  }
}

/** The channels a client chose, `global` included; the internal admin channel is not one of them. */
function subscriptionCount (channels: ReadonlySet<string>): number {
  return channels.size - (channels.has(ADMIN_CHANNEL) ? 1 : 0)
}

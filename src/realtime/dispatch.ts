import type { Connection } from './connection.js'
import { channelOf, isChannelName, stamp, type ClientMessage } from './messages.js'
import { ErrorCode, ReservedType, isReservedType } from './protocol.js'
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
    case ReservedType.authenticate:
      conn.sendError({ code: ErrorCode.unsupportedType, message: 'Already authenticated; use "refresh" to replace the token' }, message.requestId)
      return
  }
  if (isReservedType(message.type)) {
    conn.sendError({ code: ErrorCode.unsupportedType, message: `"${message.type}" is reserved and cannot be sent here` }, message.requestId)
    return
  }
  publish(conn, message)
}

function publish (conn: Connection, message: ClientMessage): void {
  const channel = channelOf(message)
  if (channel === undefined) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'Invalid "channel"' }, message.requestId)
    return
  }
  if (!conn.channels.has(channel)) {
    conn.sendError({ code: ErrorCode.forbidden, message: `Not subscribed to channel "${channel}"` }, message.requestId)
    return
  }
  // Serialized once here; every socket in the channel gets the same string.
  const frame = JSON.stringify(stamp(message, conn.username))
  conn.ctx.broker.publish({ kind: 'broadcast', channel, frame }).catch((err: unknown) => {
    conn.ctx.log.error({ err }, 'broker publish failed')
  })
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
    channels.add(channel)
    conn.ctx.hub.subscribe(conn, channel)
    conn.send({ type: ReservedType.subscribed, channel })
  } else {
    channels.delete(channel)
    conn.ctx.hub.unsubscribe(conn, channel)
    conn.send({ type: ReservedType.unsubscribed, channel })
  }
}

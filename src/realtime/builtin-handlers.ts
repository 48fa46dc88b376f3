import type { ChannelLog } from '../channels/history.js'
import type { ChannelPolicy } from '../channels/policy.js'
import { ErrorCode, isChannelName, ReservedType } from '../protocol/index.js'
import type { RealtimeContext } from './context.js'
import type { MessageHandler, MessageHandlers, SocketView } from './handlers.js'
import type { ClientMessage } from './messages.js'
import { publishMessage } from './publish.js'
import { refreshInBand } from './refresh.js'
import { subscribeHandler, unsubscribeHandler } from './subscribe.js'

/** What a message of no registered type is: a message for the sender's channel, if the policy lets it publish there. */
export function publishHandler (log: ChannelLog, policy: ChannelPolicy): MessageHandler {
  return (conn, message) => {
    const sender = conn.principal
    if (sender === undefined) return
    const published = publishMessage(log, policy, message, { sender, via: 'socket', channels: conn.channels })
    if (!published.ok) conn.sendError(published.error, message.requestId)
  }
}

/** The types realtime answers itself. */
export function registerBuiltinHandlers (handlers: MessageHandlers, ctx: RealtimeContext): void {
  handlers.register(ReservedType.ping, (conn) => {
    conn.send({ type: ReservedType.pong, timestamp: Date.now() / 1000 })
  })
  handlers.register(ReservedType.getStatus, (conn, message) => { sendStatus(ctx, conn, message) })
  handlers.register(ReservedType.subscribe, subscribeHandler({ policy: ctx.channelPolicy, channelLog: ctx.channelLog, presence: ctx.channelPresence, log: ctx.log }))
  handlers.register(ReservedType.unsubscribe, unsubscribeHandler())
  handlers.register(ReservedType.presence, (conn, message) => { sendPresence(ctx, conn, message) })
  handlers.register(ReservedType.refresh, (conn, message) => { refreshInBand(ctx, conn, message) })
  handlers.register(ReservedType.authenticate, (conn, message) => {
    conn.sendError({ code: ErrorCode.unsupportedType, message: 'Already authenticated; use "refresh" to replace the token' }, message.requestId)
  })
}

function withRequestId (message: ClientMessage): { requestId?: string } {
  return typeof message.requestId === 'string' ? { requestId: message.requestId } : {}
}

/** Who the socket is, and each channel it is in with the channel's current offset and epoch. */
function sendStatus (ctx: RealtimeContext, conn: SocketView, message: ClientMessage): void {
  const principal = conn.principal
  if (principal === undefined) return
  const named = conn.channels.list().filter((channel) => isChannelName(channel))
  Promise.all(named.map(async (channel) => ({ channel, ...await ctx.channelLog.position(channel) }))).then((channels) => {
    conn.send({
      type: ReservedType.status,
      user: principal.username,
      roles: principal.roles,
      expiresAt: principal.exp,
      connectionId: conn.connectionId,
      connections: ctx.hub.connectionsOf(principal.username),
      channels,
      ...withRequestId(message)
    })
  }, (err: unknown) => { ctx.log.error({ err, connectionId: conn.connectionId }, 'get_status failed') })
}

/** `presence`: who is in a channel, across instances, for a namespace with presence on. */
function sendPresence (ctx: RealtimeContext, conn: SocketView, message: ClientMessage): void {
  const { channel } = message
  const principal = conn.principal
  if (principal === undefined) return
  if (!isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'presence needs a "channel" of 1 to 128 letters, digits or _.:@-' }, message.requestId)
    return
  }
  const refused = ctx.channelPolicy.presenceRefusal(principal, channel)
  if (refused !== undefined) {
    conn.sendError({ code: ErrorCode.forbidden, message: refused }, message.requestId)
    return
  }
  ctx.presence.list(channel).then((clients) => {
    conn.send({ type: ReservedType.presence, channel, clients: clients.map(({ user, connectionId }) => ({ user, connectionId })), ...withRequestId(message) })
  }, (err: unknown) => { ctx.log.error({ err, channel }, 'presence failed') })
}

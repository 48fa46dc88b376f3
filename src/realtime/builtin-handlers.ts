import type { Broker } from '../broker/broker.js'
import type { ChannelPolicy } from '../channels/policy.js'
import { ErrorCode, isChannelName, ReservedType } from '../protocol/index.js'
import type { RealtimeContext } from './context.js'
import type { MessageHandler, MessageHandlers, SocketView } from './handlers.js'
import type { ClientMessage } from './messages.js'
import { publishMessage } from './publish.js'
import { refreshInBand } from './refresh.js'

/** What a message of no registered type is: a message for the sender's channel, if the policy lets it publish there. */
export function publishHandler (broker: Broker, policy: ChannelPolicy): MessageHandler {
  return (conn, message) => {
    const sender = conn.principal
    if (sender === undefined) return
    const published = publishMessage(broker, policy, message, { sender, via: 'socket', channels: conn.channels })
    if (!published.ok) conn.sendError(published.error, message.requestId)
  }
}

/** The types realtime answers itself. */
export function registerBuiltinHandlers (handlers: MessageHandlers, ctx: RealtimeContext): void {
  handlers.register(ReservedType.ping, (conn) => {
    conn.send({ type: ReservedType.pong, timestamp: Date.now() / 1000 })
  })
  handlers.register(ReservedType.getStatus, (conn) => { sendStatus(ctx, conn) })
  const changeSubscription = subscriptionHandler(ctx.channelPolicy)
  handlers.register(ReservedType.subscribe, changeSubscription)
  handlers.register(ReservedType.unsubscribe, changeSubscription)
  handlers.register(ReservedType.refresh, (conn, message) => { refreshInBand(ctx, conn, message) })
  handlers.register(ReservedType.authenticate, (conn, message) => {
    conn.sendError({ code: ErrorCode.unsupportedType, message: 'Already authenticated; use "refresh" to replace the token' }, message.requestId)
  })
}

function sendStatus (ctx: RealtimeContext, conn: SocketView): void {
  const principal = conn.principal
  if (principal === undefined) return
  conn.send({
    type: ReservedType.status,
    user: principal.username,
    roles: principal.roles,
    expiresAt: principal.exp,
    connectionId: conn.connectionId,
    connections: ctx.hub.connectionsOf(principal.username),
    channels: conn.channels.list()
  })
}

/** `subscribe` asks the policy first; `unsubscribe` is always allowed. */
function subscriptionHandler (policy: ChannelPolicy): MessageHandler {
  return (conn, message) => { changeSubscription(policy, conn, message) }
}

function changeSubscription (policy: ChannelPolicy, conn: SocketView, message: ClientMessage): void {
  const { channel } = message
  const principal = conn.principal
  if (!isChannelName(channel)) {
    conn.sendError({ code: ErrorCode.invalidMessage, message: 'subscribe and unsubscribe need a "channel" of 1 to 128 letters, digits or _.:@-' }, message.requestId)
    return
  }
  if (principal === undefined) return
  if (message.type === ReservedType.subscribe) {
    const refused = policy.subscribeRefusal(principal, channel)
    if (refused !== undefined) {
      conn.sendError({ code: ErrorCode.forbidden, message: refused }, message.requestId)
      return
    }
    if (!conn.channels.join(channel)) {
      conn.sendError({ code: ErrorCode.tooManySubscriptions, message: `A socket may be in at most ${conn.channels.limit} channels, global included; unsubscribe from one first` }, message.requestId)
      return
    }
    conn.send({ type: ReservedType.subscribed, channel })
  } else {
    conn.channels.leave(channel)
    conn.send({ type: ReservedType.unsubscribed, channel })
  }
}

import type { ChannelPolicy } from '../channels/policy.js'
import { isChannelName, ReservedType, UnsubscribeReason } from '../protocol/index.js'
import type { SocketView } from './handlers.js'

/**
 * After the socket's principal changed (an in-band refresh, new roles): takes
 * it out of every channel it may no longer subscribe to, and tells it so with
 * `{"type":"unsubscribed","channel":…,"reason":"forbidden"}`. Internal
 * channels (`$…`) are not the policy's and are left alone. Returns the
 * channels left.
 */
export function leaveForbiddenChannels (conn: SocketView, policy: ChannelPolicy): string[] {
  const principal = conn.principal
  if (principal === undefined) return []
  const left: string[] = []
  for (const channel of conn.channels.list()) {
    if (!isChannelName(channel) || policy.subscribeRefusal(principal, channel) === undefined) continue
    conn.channels.leave(channel)
    conn.send({ type: ReservedType.unsubscribed, channel, reason: UnsubscribeReason.forbidden })
    left.push(channel)
  }
  return left
}

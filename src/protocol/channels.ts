/** The channel every socket starts in. */
export const GLOBAL_CHANNEL = 'global'

const CHANNEL_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/

/** A channel a client may name: 1 to 128 of A-Z a-z 0-9 _ . : @ - (so never an internal `$…` one). */
export function isChannelName (value: unknown): value is string {
  return typeof value === 'string' && CHANNEL_PATTERN.test(value)
}

/** `user:<name>`: personal channels; only `<name>` subscribes. */
export const USER_NAMESPACE = 'user'
/** `admin:<anything>`: role `admin` only, to subscribe and to publish. */
export const ADMIN_NAMESPACE = 'admin'

/**
 * A channel name split at its first `:`: `chat:room:1` is namespace `chat`,
 * rest `room:1`; a name without `:` is in the default namespace (undefined).
 */
export function splitChannel (channel: string): { readonly namespace: string | undefined, readonly rest: string } {
  const colon = channel.indexOf(':')
  if (colon < 0) return { namespace: undefined, rest: channel }
  return { namespace: channel.slice(0, colon), rest: channel.slice(colon + 1) }
}

/** Why the server took a socket out of a channel, in `{"type":"unsubscribed","reason":…}`. */
export const UnsubscribeReason = {
  /** The socket's user may no longer subscribe (a refresh or a role change took the right away). */
  forbidden: 'forbidden'
} as const

export type UnsubscribeReasonValue = (typeof UnsubscribeReason)[keyof typeof UnsubscribeReason]

/** The channel every socket starts in. */
export const GLOBAL_CHANNEL = 'global'

const CHANNEL_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/

/** A channel a client may name: 1 to 128 of A-Z a-z 0-9 _ . : @ - (so never an internal `$…` one). */
export function isChannelName (value: unknown): value is string {
  return typeof value === 'string' && CHANNEL_PATTERN.test(value)
}

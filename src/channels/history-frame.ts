/**
 * Completing a stamped frame with its channel and offset by appending to its
 * JSON text, never parsing and serialising it again: fan-out stays one string
 * concatenation per message.
 */

const OPEN_BRACE = 0x7b

/**
 * `frame` without its closing brace, then `,"channel":<channel>,"offset":` —
 * the offset's digits and `}` complete it. The Redis log appends those in its
 * script, where the offset is assigned. `frame` must be a compact JSON object (as JSON.stringify writes it) without
 * `channel` and `offset` members (a duplicate member would make the JSON
 * ambiguous).
 */
export function frameHead (frame: string, channel: string): string {
  if (!frame.endsWith('}')) throw new TypeError('a stamped frame must be a JSON object')
  // `{}` takes no separating comma; any other (compact) object ends with a member before its brace.
  const separator = frame.charCodeAt(frame.length - 2) === OPEN_BRACE ? '' : ','
  return `${frame.slice(0, -1)}${separator}"channel":${JSON.stringify(channel)},"offset":`
}

/** The complete frame: `{…,"channel":"c","offset":N}`. */
export function withChannelOffset (frame: string, channel: string, offset: number): string {
  return `${frameHead(frame, channel)}${offset}}`
}

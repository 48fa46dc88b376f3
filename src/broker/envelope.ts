import type { BrokerEvent } from './broker.js'

/** What crosses Redis: the event, who published it and when (epoch ms, for the delivery lag). */
export interface Envelope {
  readonly origin: string
  readonly at: number
  readonly event: BrokerEvent
}

/** Several events in one message, delivered in order (the channel log's batches). */
export interface BatchEnvelope {
  readonly origin: string
  readonly at: number
  readonly events: readonly BrokerEvent[]
}

export function encodeEnvelope (envelope: Envelope): string {
  return JSON.stringify(envelope)
}

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isString = (value: unknown): value is string => typeof value === 'string'

/** The event in `value`, or why it is not one: listeners only ever see events of a known shape. */
function parseEvent (value: unknown): BrokerEvent | string {
  if (!isObject(value)) return 'event is not an object'
  switch (value.kind) {
    case 'broadcast':
      return isString(value.channel) && isString(value.frame)
        ? { kind: 'broadcast', channel: value.channel, frame: value.frame }
        : 'broadcast needs a string channel and frame'
    case 'revoke-session':
      return isString(value.sid) ? { kind: 'revoke-session', sid: value.sid } : 'revoke-session needs a string sid'
    case 'revoke-user':
      return isString(value.username) ? { kind: 'revoke-user', username: value.username } : 'revoke-user needs a string username'
    case 'user-roles':
      return isString(value.username) && Array.isArray(value.roles) && value.roles.every(isString)
        ? { kind: 'user-roles', username: value.username, roles: value.roles }
        : 'user-roles needs a string username and an array of string roles'
    case 'instance-stats':
      return isString(value.instanceId) && isObject(value.snapshot)
        ? { kind: 'instance-stats', instanceId: value.instanceId, snapshot: value.snapshot }
        : 'instance-stats needs a string instanceId and an object snapshot'
    default:
      return 'unknown event kind'
  }
}

/** Parses one pub/sub message; a string result says why it was rejected. */
export function parseEnvelope (text: string): Envelope | BatchEnvelope | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (!isObject(value)) return 'not an object'
  if (!isString(value.origin) || value.origin === '') return 'origin must be a non-empty string'
  if (typeof value.at !== 'number' || !Number.isFinite(value.at)) return 'at must be a number'
  if (Array.isArray(value.events)) {
    const events: BrokerEvent[] = []
    for (const item of value.events as unknown[]) {
      const event = parseEvent(item)
      if (typeof event === 'string') return event
      events.push(event)
    }
    return { origin: value.origin, at: value.at, events }
  }
  const event = parseEvent(value.event)
  if (typeof event === 'string') return event
  return { origin: value.origin, at: value.at, event }
}

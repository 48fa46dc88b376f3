import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { GLOBAL_CHANNEL, ReservedType } from '../../src/protocol/index.js'

type Json = Record<string, unknown>

/** The fields the server sets on a fanned-out message, whatever the client sent under those names. */
const SERVER_FIELDS = ['user', 'timestamp', 'requestId', 'channel', 'offset'] as const

interface Sent {
  readonly requestId: string
  readonly type: string
  readonly channel: string
  /** The frame without the server's fields: what its echo must carry. */
  readonly content: Json
}

function asObject (value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Json : undefined
}

function withoutServerFields (message: Json): Json {
  const copy = { ...message }
  for (const name of SERVER_FIELDS) delete copy[name]
  return copy
}

/**
 * Which of the lines sent under --once still wait for their answer. A
 * published message is answered by its echo, which the server stamps with
 * its own requestId, so the echo is recognised by its content and sender;
 * every other reply (`subscribed`, `status`, an `error` frame) carries the
 * requestId the client sent, so each line is given one when it has none.
 */
export class AwaitedAnswers {
  private readonly sent: Sent[] = []
  private user: string | undefined
  /** Lines the server answered with an error frame. */
  refused = 0

  /** The frame to send for a line (a JSON object), with a requestId when it had none. */
  track (frame: string): string {
    const message = asObject(JSON.parse(frame)) ?? {}
    const requestId = typeof message.requestId === 'string' ? message.requestId : randomUUID()
    const channel = typeof message.channel === 'string' ? message.channel : GLOBAL_CHANNEL
    this.sent.push({ requestId, type: String(message.type), channel, content: withoutServerFields(message) })
    return typeof message.requestId === 'string' ? frame : JSON.stringify({ ...message, requestId })
  }

  /** Notes one received frame. */
  receive (text: string): void {
    let message: Json | undefined
    try {
      message = asObject(JSON.parse(text))
    } catch {
      return
    }
    if (message === undefined) return
    if (message.type === ReservedType.connectionEstablished && typeof message.user === 'string') this.user = message.user
    const index = this.sent.findIndex((sent) => this.answers(message, sent))
    if (index < 0) return
    this.sent.splice(index, 1)
    if (message.type === ReservedType.error) this.refused++
  }

  /** How many sent lines have no answer yet. */
  get waiting (): number {
    return this.sent.length
  }

  private answers (message: Json, sent: Sent): boolean {
    if (message.requestId === sent.requestId) return true
    // A pong names no request; pings are answered in order.
    if (sent.type === ReservedType.ping) return message.type === ReservedType.pong
    if (this.user === undefined || message.user !== this.user) return false
    if (typeof message.channel === 'string' && message.channel !== sent.channel) return false
    return isDeepStrictEqual(withoutServerFields(message), sent.content)
  }
}

import type { ChannelPosition, HistoryOptions } from './history.js'

/** A publish waiting for the end of its event-loop turn. */
export interface PendingPublish {
  readonly channel: string
  /** The frame up to its offset's digits (see frameHead). */
  readonly head: string
  readonly frameWithoutOffset: string
  readonly options: HistoryOptions
  readonly at: number
  resolve (position: ChannelPosition): void
  reject (err: unknown): void
}

/** Messages per script call; a longer burst takes several calls, in order. */
export const MAX_BATCH = 256

/**
 * Collects the publishes of one event-loop turn and sends them in one call,
 * in the order they were made. A burst then costs one script run and one
 * pub/sub message, and every instance receives it in one piece, so its
 * sockets get the burst in one write each instead of one write a message.
 */
export class PublishBatcher {
  private queue: PendingPublish[] = []
  private scheduled = false

  constructor (private readonly send: (batch: PendingPublish[]) => Promise<void>) {}

  add (publish: PendingPublish): void {
    this.queue.push(publish)
    if (this.scheduled) return
    this.scheduled = true
    // setImmediate, not a microtask: it runs after every socket read of this turn, so they share a call.
    setImmediate(() => { this.flush() })
  }

  private flush (): void {
    this.scheduled = false
    const queue = this.queue
    this.queue = []
    for (let i = 0; i < queue.length; i += MAX_BATCH) {
      const batch = queue.slice(i, i + MAX_BATCH)
      this.send(batch).catch((err: unknown) => { for (const publish of batch) publish.reject(err) })
    }
  }
}

/**
 * The pub/sub message of a batch, `{"origin","at","events":[…]}`, in pieces
 * around where each message's offset goes: piece i comes before the i-th
 * offset's digits. Built directly rather than searched for in the JSON, so
 * no content of a message can be mistaken for a place to put an offset.
 * Each event is `{"kind":"broadcast","channel":…,"frame":"<head><digits>}"}`.
 */
export function envelopePieces (origin: string, at: number, batch: readonly PendingPublish[]): string[] {
  const pieces: string[] = []
  let open = `{"origin":${JSON.stringify(origin)},"at":${JSON.stringify(at)},"events":[`
  batch.forEach((publish, i) => {
    // A JSON string ends with its closing quote; the digits and the frame's `}` need no escaping.
    const head = JSON.stringify(publish.head).slice(0, -1)
    pieces.push(`${open}${i === 0 ? '' : ','}{"kind":"broadcast","channel":${JSON.stringify(publish.channel)},"frame":${head}`)
    open = '}"}'
  })
  pieces.push(`${open}]}`)
  return pieces
}

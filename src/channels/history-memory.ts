import type { Broker } from '../broker/broker.js'
import { withChannelOffset } from './history-frame.js'
import { DEFAULT_STATE_TTL_SECONDS, isOffset, newEpoch, type ChannelLog, type ChannelPosition, type HistoryOptions, type Recovery } from './history.js'

interface KeptFrame {
  readonly frame: string
  /** When it was published, on the injected clock. */
  readonly at: number
}

interface ChannelState {
  readonly epoch: string
  /** The offset of the last message published in this epoch; 0 before the first. */
  offset: number
  /** The kept messages, oldest first; always the last `kept.length` offsets, ending at `offset`. */
  readonly kept: KeptFrame[]
  /** The history TTL of the last publish, applied whenever the kept messages are read. */
  ttlMs: number
  /** When the whole state is dropped: every kept message has expired by then. */
  dropAt: number
}

/** How often (on the injected clock) a publish or a read also drops the states of idle channels. */
const SWEEP_INTERVAL_MS = 10_000

/**
 * The channel log of a single instance, with the in-process broker: offsets
 * count per channel from 1, each channel's epoch is drawn at random when its
 * state is created (so a restart always starts new epochs), and up to `size`
 * messages are kept for `ttlSeconds`.
 *
 * Memory is bounded by activity: a channel's state (epoch, offset and kept
 * messages) is dropped once the longer of its history TTL and
 * `stateTtlSeconds` has passed since its last publish (or since a subscribe
 * created it), checked on every access and swept every 10 s of activity. A
 * dropped channel starts again at offset 1 in a new epoch, which is right:
 * its history is gone.
 *
 * A publish adds to the fan-out only the completed frame string and, when
 * history is on, one kept entry; the broker delivers it synchronously before
 * publish returns its promise.
 */
export class MemoryChannelLog implements ChannelLog {
  private readonly channels = new Map<string, ChannelState>()
  private readonly stateTtlMs: number
  private nextSweepAt = 0

  constructor (private readonly broker: Broker, private readonly now: () => number = Date.now, stateTtlSeconds = DEFAULT_STATE_TTL_SECONDS) {
    this.stateTtlMs = stateTtlSeconds * 1000
  }

  async publish (channel: string, frameWithoutOffset: string, options: HistoryOptions): Promise<ChannelPosition> {
    const now = this.now()
    const state = this.state(channel, now)
    // The frame is built before the offset is taken, so a malformed frame leaves no gap.
    const frame = withChannelOffset(frameWithoutOffset, channel, state.offset + 1)
    const offset = ++state.offset
    const ttlMs = options.ttlSeconds * 1000
    state.ttlMs = ttlMs
    const kept = state.kept
    if (options.size > 0 && ttlMs > 0) {
      kept.push({ frame, at: now })
      if (kept.length > options.size) kept.splice(0, kept.length - options.size)
      expire(state, now)
    } else {
      kept.length = 0
    }
    state.dropAt = now + Math.max(ttlMs, this.stateTtlMs)
    await this.broker.publish({ kind: 'broadcast', channel, frame })
    return { offset, epoch: state.epoch }
  }

  async position (channel: string): Promise<ChannelPosition> {
    const state = this.state(channel, this.now())
    return { offset: state.offset, epoch: state.epoch }
  }

  async recover (channel: string, from: ChannelPosition): Promise<Recovery> {
    const now = this.now()
    const state = this.state(channel, now)
    const position = { offset: state.offset, epoch: state.epoch }
    if (!isOffset(from.offset) || from.epoch !== state.epoch || from.offset > state.offset) return { recovered: false, position }
    const missed = state.offset - from.offset
    if (missed === 0) return { recovered: true, frames: [], position }
    expire(state, now)
    // The kept messages are the last ones, so all the missed ones are there exactly when there are enough of them.
    if (missed > state.kept.length) return { recovered: false, position }
    return { recovered: true, frames: state.kept.slice(-missed).map((kept) => kept.frame), position }
  }

  async close (): Promise<void> {
    this.channels.clear()
  }

  /** Channels with state in memory now (for tests of the memory bound). */
  get channelCount (): number {
    return this.channels.size
  }

  /** The channel's live state, created (in a new epoch) when it has none or its old one has expired. */
  private state (channel: string, now: number): ChannelState {
    if (now >= this.nextSweepAt) this.sweep(now)
    let state = this.channels.get(channel)
    if (state === undefined || state.dropAt <= now) {
      state = { epoch: newEpoch(), offset: 0, kept: [], ttlMs: 0, dropAt: now + this.stateTtlMs }
      this.channels.set(channel, state)
    }
    return state
  }

  private sweep (now: number): void {
    for (const [channel, state] of this.channels) {
      if (state.dropAt <= now) this.channels.delete(channel)
    }
    this.nextSweepAt = now + SWEEP_INTERVAL_MS
  }
}

/** Drops the kept messages older than the channel's history TTL (the oldest come first). */
function expire (state: ChannelState, now: number): void {
  let stale = 0
  for (const kept of state.kept) {
    if (kept.at + state.ttlMs > now) break
    stale++
  }
  if (stale > 0) state.kept.splice(0, stale)
}

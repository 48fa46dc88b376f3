import { randomBytes } from 'node:crypto'

/**
 * Channel history: each channel numbers its messages (offset 1, 2, … per
 * epoch), keeps the last few for a while, and replays what a resubscribing
 * client missed — all of it, in order, or nothing. An epoch names one
 * unbroken run of offsets; it changes whenever the channel's history is
 * lost (restart without Redis, keys expired or evicted, a Redis outage), so
 * an offset is only ever compared with offsets of the same epoch.
 */
export interface ChannelPosition { readonly offset: number, readonly epoch: string }

/** How many messages a channel keeps and for how long; either 0 turns history off (offsets still advance). */
export interface HistoryOptions { readonly size: number, readonly ttlSeconds: number }

export type Recovery =
  | { readonly recovered: true, readonly frames: readonly string[], readonly position: ChannelPosition }
  | { readonly recovered: false, readonly position: ChannelPosition }

export interface ChannelLog {
  /**
   * Assigns the next offset of `channel`, completes the frame, keeps it (when options.size > 0) and fans it
   * out through the broker as a `broadcast` event, so that every instance delivers the channel's messages in
   * offset order. `frameWithoutOffset` is the stamped message's JSON WITHOUT `channel`/`offset`; the log
   * appends `,"channel":…,"offset":N}`.
   */
  publish (channel: string, frameWithoutOffset: string, options: HistoryOptions): Promise<ChannelPosition>
  /** The channel's last offset (0 if none yet) and epoch; asking twice with nothing lost between gives the same epoch. */
  position (channel: string): Promise<ChannelPosition>
  /** Messages after `from.offset` if `from.epoch` is current and none is missing; never a partial replay. */
  recover (channel: string, from: ChannelPosition): Promise<Recovery>
  close (): Promise<void>
}

/** The namespace default: the last 100 messages, for 5 minutes. */
export const DEFAULT_HISTORY: HistoryOptions = { size: 100, ttlSeconds: 300 }

/**
 * How long a channel's offset and epoch outlive its last publish (or its
 * creation by a subscribe) when its history's TTL is shorter, so that
 * offsets stay continuous for live subscribers of a quiet channel or one
 * without history. After that the channel starts again in a new epoch.
 */
export const DEFAULT_STATE_TTL_SECONDS = 300

/** A new epoch: 8 random hex characters, so an old epoch is practically never drawn again. */
export function newEpoch (): string {
  return randomBytes(4).toString('hex')
}

/** Whether `value` can be an offset: a non-negative safe integer. */
export function isOffset (value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0
}

import type { Redis } from 'ioredis'
import type { Broker } from '../broker/broker.js'
import { errorMessage, type BrokerLog } from '../broker/log.js'
import { defineScript, type RunScript } from '../broker/redis-script.js'
import { frameHead } from './history-frame.js'
import { MemoryChannelLog } from './history-memory.js'
import { envelopePieces, PublishBatcher, type PendingPublish } from './history-batch.js'
import { POSITION_LUA, PUBLISH_BATCH_LUA, RECOVER_LUA } from './history-redis-lua.js'
import { DEFAULT_STATE_TTL_SECONDS, isOffset, newEpoch, type ChannelLog, type ChannelPosition, type HistoryOptions, type Recovery } from './history.js'

export interface RedisChannelLogOptions {
  /** A command connection (not the broker's subscriber); the caller closes it. */
  readonly redis: Redis
  /** REDIS_KEY_PREFIX: keys `${prefix}history:<channel>` and `${prefix}history-meta:<channel>`, the envelope on `${prefix}events`. */
  readonly prefix: string
  readonly instanceId: string
  /** Delivers this instance's messages while Redis cannot be reached. */
  readonly broker: Broker
  readonly log: BrokerLog
  /** The clock messages are stamped and judged on for the history TTL; key expiry runs on Redis's own. */
  readonly now?: () => number
  /** How long a channel's offset and epoch outlive its last publish when its history TTL is shorter (default 300). */
  readonly stateTtlSeconds?: number
}

/**
 * The origin of the envelopes the publish script sends: never an instance id
 * (those have no `@`), so every instance's broker delivers them, the
 * publishing one included, all in the order Redis ran the scripts.
 */
export function historyOrigin (instanceId: string): string {
  return `history@${instanceId}`
}

/** Channels whose keys one DEL removes after an outage. */
const FORGET_BATCH = 500
const NO_REDIS = Symbol('no redis')

/**
 * The channel log shared by every instance: per channel a meta hash
 * (epoch, offset) and a stream of the kept messages, changed only by one
 * Lua script per publish that assigns the offset, keeps the message and
 * PUBLISHes its broker envelope on `${prefix}events`, atomically. So every
 * instance, the publisher included, receives a channel's messages through
 * its broker subscription in offset order, and any instance can serve a
 * recovery.
 *
 * While Redis cannot be reached, publish neither throws nor stops local
 * fan-out: it hands the message to the broker with an offset from an
 * in-process log in a local epoch (no history), and logs once per outage.
 * Clients see a different epoch, so recovery across the outage reports
 * recovered:false. When Redis answers again, the keys of every channel
 * published to meanwhile are deleted first: the messages of the outage are
 * missing from its history, so it must start a new epoch.
 */
export class RedisChannelLog implements ChannelLog {
  private readonly publishScript: RunScript
  private readonly positionScript: RunScript
  private readonly recoverScript: RunScript
  private readonly now: () => number
  private readonly stateTtlSeconds: number
  private readonly origin: string
  private readonly eventsChannel: string
  private fallback: MemoryChannelLog
  /** Channels published to while Redis was unreachable, whose Redis history must be dropped. */
  private readonly lost = new Set<string>()
  private degraded = false
  /** The deletion under way, shared by calls that start meanwhile, so that they do not delete a new epoch again. */
  private forgetting: Promise<void> | undefined
  private readonly batcher = new PublishBatcher(async (batch) => { await this.sendBatch(batch) })

  constructor (private readonly options: RedisChannelLogOptions) {
    this.now = options.now ?? Date.now
    this.stateTtlSeconds = options.stateTtlSeconds ?? DEFAULT_STATE_TTL_SECONDS
    this.origin = historyOrigin(options.instanceId)
    this.eventsChannel = `${options.prefix}events`
    this.publishScript = defineScript(options.redis, 'wsgateHistoryPublishBatch', PUBLISH_BATCH_LUA)
    this.positionScript = defineScript(options.redis, 'wsgateHistoryPosition', POSITION_LUA)
    this.recoverScript = defineScript(options.redis, 'wsgateHistoryRecover', RECOVER_LUA)
    this.fallback = this.newFallback()
  }

  async publish (channel: string, frameWithoutOffset: string, options: HistoryOptions): Promise<ChannelPosition> {
    // Throws on a malformed frame before anything is published.
    const head = frameHead(frameWithoutOffset, channel)
    return await new Promise((resolve, reject) => {
      this.batcher.add({ channel, head, frameWithoutOffset, options, at: this.now(), resolve, reject })
    })
  }

  /** One script run for the turn's publishes: offsets assigned in order, kept, and one PUBLISH of them all. */
  private async sendBatch (batch: readonly PendingPublish[]): Promise<void> {
    const first = batch[0]
    if (first === undefined) return
    const pieces = envelopePieces(this.origin, first.at, batch)
    const perMessage = batch.flatMap((m) => [m.head, m.options.size, m.options.ttlSeconds * 1000, m.at])
    const reply = await this.onRedis(async () => await this.publishScript(batch.flatMap((m) => this.keys(m.channel)),
      [newEpoch(), this.stateTtlSeconds * 1000, this.eventsChannel, batch.length, ...pieces, ...perMessage]))
    if (reply === NO_REDIS) {
      for (const m of batch) {
        this.lost.add(m.channel)
        m.resolve(await this.fallback.publish(m.channel, m.frameWithoutOffset, { size: 0, ttlSeconds: m.options.ttlSeconds }))
      }
      return
    }
    batch.forEach((m, i) => { m.resolve(positionOf(Array.isArray(reply) ? reply.slice(2 * i, 2 * i + 2) : reply)) })
  }

  async position (channel: string): Promise<ChannelPosition> {
    const reply = await this.onRedis(async () => await this.positionScript(this.keys(channel), [newEpoch(), this.stateTtlSeconds * 1000]))
    return reply === NO_REDIS ? await this.fallback.position(channel) : positionOf(reply)
  }

  async recover (channel: string, from: ChannelPosition): Promise<Recovery> {
    if (!isOffset(from.offset)) return { recovered: false, position: await this.position(channel) }
    const reply = await this.onRedis(async () => await this.recoverScript(this.keys(channel),
      [newEpoch(), this.stateTtlSeconds * 1000, from.epoch, from.offset, this.now()]))
    if (reply === NO_REDIS) return await this.fallback.recover(channel, from)
    const position = positionOf(reply)
    if (!Array.isArray(reply) || Number(reply[2]) !== 1) return { recovered: false, position }
    const frames = reply.slice(3).map(String)
    return { recovered: true, frames, position }
  }

  /** Drops the in-process fallback's state; the Redis connection belongs to the caller. */
  async close (): Promise<void> {
    await this.fallback.close()
  }

  /**
   * Runs `command` on Redis, after deleting the keys of channels an outage
   * broke; NO_REDIS when Redis did not answer. Logs when an outage starts
   * and ends, not once per call.
   */
  private async onRedis (command: () => Promise<unknown>): Promise<unknown> {
    let reply: unknown
    try {
      if (this.lost.size > 0) await (this.forgetting ??= this.forgetLost().finally(() => { this.forgetting = undefined }))
      reply = await command()
    } catch (err) {
      if (!this.degraded) {
        this.options.log.warn({ err: errorMessage(err) }, 'Redis unavailable; channel offsets are local to this instance and no history is kept')
      }
      this.degraded = true
      return NO_REDIS
    }
    if (this.degraded) {
      this.degraded = false
      this.options.log.info({}, 'Redis available again; channel history is shared again')
      // The next outage starts new local epochs, so no client can confuse its offsets with this one's.
      const old = this.fallback
      this.fallback = this.newFallback()
      await old.close()
    }
    return reply
  }

  private async forgetLost (): Promise<void> {
    const channels = [...this.lost]
    for (let i = 0; i < channels.length; i += FORGET_BATCH) {
      const batch = channels.slice(i, i + FORGET_BATCH)
      await this.options.redis.del(...batch.flatMap((channel) => this.keys(channel)))
      for (const channel of batch) this.lost.delete(channel)
    }
  }

  private newFallback (): MemoryChannelLog {
    return new MemoryChannelLog(this.options.broker, this.now, this.stateTtlSeconds)
  }

  /** The meta hash, then the stream: both begin with the prefix, so deployments sharing a Redis never meet. */
  private keys (channel: string): [string, string] {
    return [`${this.options.prefix}history-meta:${channel}`, `${this.options.prefix}history:${channel}`]
  }
}

/** {epoch, offset} from the head of a script's reply. */
function positionOf (reply: unknown): ChannelPosition {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string' || !isOffset(Number(reply[1]))) {
    // The reply is not quoted: it may hold users' frames.
    throw new Error('unexpected reply from the channel log script')
  }
  return { epoch: reply[0], offset: Number(reply[1]) }
}

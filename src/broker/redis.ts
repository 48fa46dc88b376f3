import type { Redis } from 'ioredis'
import { redactUrl } from '../config.js'
import type { Broker, BrokerEvent, BrokerListener } from './broker.js'
import { encodeEnvelope, parseEnvelope } from './envelope.js'
import { errorMessage, type BrokerLog } from './log.js'
import { closeRedis, createRedis, whenReady, type ReconnectPolicy } from './redis-connection.js'

export interface RedisBrokerOptions {
  readonly url: string
  /** REDIS_KEY_PREFIX: the channel is `${prefix}events`. */
  readonly prefix: string
  readonly instanceId: string
  readonly log: BrokerLog
  /** Default: 100 ms doubling to 5 s. */
  readonly reconnect?: ReconnectPolicy
}

/**
 * The broker across instances: Redis pub/sub on one channel, one connection
 * to publish and one to subscribe (a subscribed connection can do nothing
 * else). An event reaches its own instance by a direct call, never through
 * Redis, so a publisher sees it at once and exactly once even while Redis
 * is down; what Redis carries back to its origin is ignored.
 */
export class RedisBroker implements Broker {
  readonly name = 'redis'
  readonly instanceId: string
  readonly channel: string
  private publishFailures = 0
  /** Messages on the channel that were not a valid envelope, since start. */
  malformedMessages = 0
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly log: BrokerLog
  private readonly url: string
  private readonly listeners: BrokerListener[] = []
  private readonly reconnectListeners: Array<() => void> = []
  private readonly lagListeners: Array<(lagMs: number) => void> = []
  private subscribed = false
  private wasHealthy = false
  private everHealthy = false
  /** Publishes that failed during the current outage, logged once when it ends. */
  private failedThisOutage = 0
  private closed = false
  private readonly healthyWaiters: Array<() => void> = []

  /** Starts connecting at once; `connect` is the same, waiting until the link is up. */
  constructor (options: RedisBrokerOptions) {
    this.instanceId = options.instanceId
    this.channel = `${options.prefix}events`
    this.log = options.log
    this.url = options.url
    const connection = { url: options.url, log: options.log, ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}) }
    this.publisher = createRedis({ ...connection, name: `wsgate-pub-${options.instanceId}` })
    this.subscriber = createRedis({ ...connection, name: `wsgate-sub-${options.instanceId}` })
    this.publisher.on('ready', () => { this.updateHealth() })
    this.publisher.on('close', () => { this.updateHealth() })
    this.subscriber.on('ready', () => { this.resubscribe() })
    this.subscriber.on('close', () => {
      this.subscribed = false
      this.updateHealth()
    })
    this.subscriber.on('message', (channel: string, message: string) => { this.receive(channel, message) })
  }

  /** A broker whose link is up, or an error naming the (redacted) URL when Redis is not reachable within `deadlineMs`. */
  static async connect (options: RedisBrokerOptions, deadlineMs = 10_000): Promise<RedisBroker> {
    const broker = new RedisBroker(options)
    try {
      const deadline = Date.now() + deadlineMs
      // The publisher's wait names the connection error (refused, DNS, auth) if there is one.
      await whenReady(broker.publisher, options.url, deadlineMs)
      await broker.whenHealthy(Math.max(1, deadline - Date.now()))
    } catch (err) {
      await broker.close()
      throw err
    }
    return broker
  }

  get healthy (): boolean {
    return this.subscribed && this.publisher.status === 'ready'
  }

  get publishErrors (): number {
    return this.publishFailures
  }

  async publish (event: BrokerEvent): Promise<void> {
    this.deliver(event)
    try {
      if (this.closed) throw new Error('broker closed')
      await this.publisher.publish(this.channel, encodeEnvelope({ origin: this.instanceId, at: Date.now(), event }))
    } catch (err) {
      this.publishFailures++
      // While the link is known to be down only the first failure is logged; the rest are summed up on recovery.
      if (this.wasHealthy || this.failedThisOutage === 0) {
        this.log.warn({ kind: event.kind, err: errorMessage(err) }, 'broker publish did not reach the other instances')
      }
      if (!this.wasHealthy) this.failedThisOutage++
    }
  }

  subscribe (listener: BrokerListener): void {
    this.listeners.push(listener)
  }

  onReconnect (listener: () => void): void {
    this.reconnectListeners.push(listener)
  }

  onRemoteDelivery (listener: (lagMs: number) => void): void {
    this.lagListeners.push(listener)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.listeners.length = 0
    this.reconnectListeners.length = 0
    this.lagListeners.length = 0
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)])
  }

  private deliver (event: BrokerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch (err) {
        // One faulty listener must neither stop the others nor make publish reject.
        this.log.error({ kind: event.kind, err: errorMessage(err) }, 'broker listener threw')
      }
    }
  }

  private receive (channel: string, message: string): void {
    if (channel !== this.channel) return
    const envelope = parseEnvelope(message)
    if (typeof envelope === 'string') {
      this.malformedMessages++
      // The content is not logged: it may be a user's frame.
      this.log.warn({ channel, reason: envelope, bytes: message.length }, 'broker dropped a malformed message')
      return
    }
    if (envelope.origin === this.instanceId) return
    const lagMs = Date.now() - envelope.at
    for (const listener of this.lagListeners) listener(lagMs)
    if ('events' in envelope) for (const event of envelope.events) this.deliver(event)
    else this.deliver(envelope.event)
  }

  private resubscribe (): void {
    this.subscriber.subscribe(this.channel).then(() => {
      this.subscribed = true
      this.updateHealth()
    }, (err: unknown) => {
      if (this.closed) return
      this.log.warn({ err: errorMessage(err) }, 'broker could not subscribe; reconnecting')
      this.subscriber.disconnect(true)
    })
  }

  /** Logs each change of link state; a return to healthy after an outage runs the reconnect listeners once. */
  private updateHealth (): void {
    const healthy = this.healthy
    if (healthy === this.wasHealthy || this.closed) return
    this.wasHealthy = healthy
    if (!healthy) {
      this.log.warn({ redis: redactUrl(this.url) }, 'broker lost Redis; local delivery continues')
      return
    }
    for (const waiter of this.healthyWaiters.splice(0)) waiter()
    if (!this.everHealthy) {
      this.everHealthy = true
      this.log.info({ redis: redactUrl(this.url), channel: this.channel }, 'broker connected to Redis')
      return
    }
    this.log.info({ redis: redactUrl(this.url), failedPublishes: this.failedThisOutage }, 'broker reconnected to Redis')
    this.failedThisOutage = 0
    for (const listener of this.reconnectListeners) {
      try {
        listener()
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'broker reconnect listener threw')
      }
    }
  }

  private async whenHealthy (deadlineMs: number): Promise<void> {
    if (this.healthy) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Redis at ${redactUrl(this.url)} did not accept the broker's subscription within ${deadlineMs} ms`))
      }, deadlineMs)
      this.healthyWaiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

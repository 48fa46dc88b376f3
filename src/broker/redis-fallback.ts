import { errorMessage, type BrokerLog } from './log.js'

/**
 * Runs an operation on Redis, or its in-process stand-in when Redis fails,
 * so that a Redis outage degrades a shared counter to a per-instance one
 * instead of failing every request. Logs once when that starts and once
 * when Redis answers again, not once per call.
 */
export class RedisFallback {
  private degraded = false

  constructor (private readonly log: BrokerLog, private readonly what: string) {}

  get isDegraded (): boolean {
    return this.degraded
  }

  async run<T> (remote: () => Promise<T>, local: () => T | Promise<T>): Promise<T> {
    let result: T
    try {
      result = await remote()
    } catch (err) {
      if (!this.degraded) this.log.warn({ counter: this.what, err: errorMessage(err) }, 'Redis unavailable; counting in this instance only')
      this.degraded = true
      return await local()
    }
    if (this.degraded) this.log.info({ counter: this.what }, 'Redis available again; counting across instances')
    this.degraded = false
    return result
  }
}

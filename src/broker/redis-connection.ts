import { Redis } from 'ioredis'
import { redactUrl } from '../config.js'
import { errorMessage, type BrokerLog } from './log.js'

export interface ReconnectPolicy {
  /** The first reconnect delay; it doubles with each failed attempt. */
  readonly initialMs: number
  readonly maxMs: number
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 100, maxMs: 5000 }

export interface RedisConnectionOptions {
  readonly url: string
  /** CLIENT SETNAME, so `CLIENT LIST` shows what each connection is for. */
  readonly name: string
  readonly log: BrokerLog
  readonly reconnect?: ReconnectPolicy
  /** A command not answered within this many ms fails (default 2000). */
  readonly commandTimeoutMs?: number
}

/**
 * A Redis connection that fails fast instead of waiting: while the link is
 * down a command is refused at once (no offline queue), a command in flight
 * when it drops is failed rather than resent (a counter increment must not
 * be applied twice), and a command Redis does not answer times out. The
 * connection itself keeps reconnecting with a capped doubling backoff.
 * Errors are logged once per distinct message, not once per retry.
 */
export function createRedis (options: RedisConnectionOptions): Redis {
  const reconnect = options.reconnect ?? DEFAULT_RECONNECT
  const redis = new Redis(options.url, {
    connectionName: options.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The broker subscribes again itself on every 'ready', so it knows when that is done.
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    // Commands issued in one event-loop turn (a burst of publishes) leave in one write, not one each.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(reconnect.initialMs * 2 ** Math.min(attempt - 1, 20), reconnect.maxMs)
  })
  let lastError: string | undefined
  redis.on('error', (err: Error) => {
    const message = errorMessage(err)
    if (message === lastError) return
    lastError = message
    options.log.warn({ redis: redactUrl(options.url), connection: options.name, err: message }, 'Redis connection error')
  })
  redis.on('ready', () => { lastError = undefined })
  return redis
}

/** Resolves once `redis` is ready; rejects naming the redacted URL when it is not within `deadlineMs`. */
export async function whenReady (redis: Redis, url: string, deadlineMs: number): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    let lastError = 'no answer'
    const onError = (err: Error): void => { lastError = errorMessage(err) }
    const done = (): void => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      redis.off('error', onError)
    }
    const onReady = (): void => { done(); resolve() }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`Redis at ${redactUrl(url)} is not reachable within ${deadlineMs} ms (${lastError})`))
    }, deadlineMs)
    redis.on('ready', onReady)
    redis.on('error', onError)
  })
}

/** A ready connection for commands (counters), or a clear error when Redis cannot be reached in time. */
export async function openRedis (options: RedisConnectionOptions & { readonly deadlineMs?: number }): Promise<Redis> {
  const redis = createRedis(options)
  try {
    await whenReady(redis, options.url, options.deadlineMs ?? 10_000)
  } catch (err) {
    redis.disconnect()
    throw err
  }
  return redis
}

/** QUIT when connected (replies in flight are read first), else just drop the socket and stop reconnecting. */
export async function closeRedis (redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit()
      return
    } catch {
      // Falls through to the hard close.
    }
  }
  redis.disconnect()
}

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import type { Redis } from 'ioredis'
import type { BrokerLog } from '../../src/broker/log.js'
import { closeRedis, createRedis, whenReady } from '../../src/broker/redis-connection.js'
import type { TestContext } from '../helper.js'
import { REDIS_TEST_URL } from '../services.js'
import { waitFor } from '../wait.js'

/** Polls until `predicate` (which may be async) holds, or fails naming `what`. */
export async function until (what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  await waitFor(predicate, timeoutMs, what)
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error'
  readonly msg: string
  readonly obj: object
}

/** A BrokerLog that keeps every line, so tests can assert on what was logged (and what was not). */
export function captureLog (): BrokerLog & { readonly lines: LogLine[], has (msg: string): boolean } {
  const lines: LogLine[] = []
  const at = (level: LogLine['level']) => (obj: object, msg: string): void => { lines.push({ level, msg, obj }) }
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), has: (msg) => lines.some((line) => line.msg.includes(msg)) }
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

/**
 * A redis-server of the test's own on a free port, for tests that stop Redis:
 * the shared one is never touched. Killed at teardown.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined

  private constructor (readonly port: number) {}

  static async start (t: TestContext): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort())
    t.teardown(async () => { await redis.stop() })
    await redis.restart()
    return redis
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts the server (again, on the same port) and waits until it accepts connections. */
  async restart (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], { stdio: 'ignore' })
    this.child = child
    let exited: string | undefined
    child.once('exit', (code, signal) => { exited = `redis-server exited (${String(code ?? signal)})` })
    await until(`redis-server on port ${this.port}`, async () => {
      if (exited !== undefined) throw new Error(exited)
      return await accepts(this.port)
    })
  }

  /** Kills the server and waits until it is gone. */
  async stop (): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }
}

/** A ready fail-fast client on the shared test Redis (or `url`), closed at teardown. */
export async function redisClient (t: TestContext, url: string = REDIS_TEST_URL): Promise<Redis> {
  const redis = createRedis({ url, name: 'wsgate-test', log: captureLog() })
  t.teardown(async () => { await closeRedis(redis) })
  await whenReady(redis, url, 5000)
  return redis
}

/** A client whose Redis is not there: every command fails at once. */
export async function deadRedisClient (t: TestContext): Promise<Redis> {
  const redis = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, name: 'wsgate-test-dead', log: captureLog() })
  t.teardown(() => { redis.disconnect() })
  return redis
}

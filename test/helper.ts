import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import type { Clock } from '../src/clock.js'
import { loadConfig, type Config } from '../src/config.js'

/** The slice of a tap Test that the helpers use. */
export interface TestContext {
  teardown (fn: () => unknown): void
}

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!'

export interface Built {
  readonly app: FastifyInstance
  readonly config: Config
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string
  readonly dir: string
  /** Everything the app logged so far, one JSON line each. */
  logs (): string
  /** Logs in through `POST /token` and returns the whole token response. */
  login (username?: string, password?: string): Promise<TokenResponseBody>
}

export interface TokenResponseBody {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token?: string
}

export function testEnv (dir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET_KEY: TEST_SECRET,
    BCRYPT_COST: '4',
    BCRYPT_THREADS: '1',
    // Normal priority: on a busy machine a niced bcrypt thread waits behind everything else.
    BCRYPT_NICE: '0',
    DATABASE_URL: `sqlite:${join(dir, 'test.db')}`,
    LOG_LEVEL: 'info',
    // Tests log in often from one IP; the limits get their own tests.
    TOKEN_RATE_LIMIT: '100000',
    LOGIN_IP_FAILURES_PER_MINUTE: '100000',
    LOGIN_FREE_FAILURES: '1000',
    LOGIN_USER_MAX_FAILURES: '100000',
    ...env
  }
}

export function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export interface BuildOptions {
  /** The data folder; a fresh temp folder by default. Pass one to restart on the same database. */
  readonly dir?: string
  /** Drives elevation, message rates and login backoff (see test/clock.ts). */
  readonly clock?: Clock
}

/**
 * A real app on a real SQLite file in a temp folder, listening on
 * 127.0.0.1 with an ephemeral port; closed when the test ends.
 */
export async function build (t: TestContext, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<Built> {
  const dir = options.dir ?? tempDir(t)
  const config = loadConfig(testEnv(dir, env))
  const lines: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _enc, done) {
      lines.push(chunk.toString())
      done()
    }
  })
  const app = await buildApp(config, { logStream, ...(options.clock !== undefined ? { clock: options.clock } : {}) })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('app is not listening on a TCP port')
  const url = `http://127.0.0.1:${address.port}`
  return {
    app,
    config,
    url,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    dir,
    logs: () => lines.join(''),
    login: async (username = 'user', password = 'password') => {
      const res = await app.inject({ method: 'POST', url: '/token', payload: { username, password } })
      if (res.statusCode !== 200) throw new Error(`login as ${username} failed: ${res.statusCode} ${res.body}`)
      return res.json<TokenResponseBody>()
    }
  }
}

export { waitFor } from './wait.js'

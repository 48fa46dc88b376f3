import { childEnv, compiled } from '../cli.js'
import { tempDir, testEnv, type TestContext } from '../helper.js'
import { NodeChild, logLine, runToEnd, type Exit } from '../scripts/child.js'
import { freshPostgres, redisPrefix, REDIS_TEST_URL } from '../services.js'

/**
 * Several compiled wsgate servers (what `npm start` runs) as child processes
 * on one Postgres database and one Redis prefix: the deployment the README's
 * two-instance recipe describes, on 127.0.0.1 with ephemeral ports.
 */

export const ADMIN_PIN = 'cluster-test-admin-pin-0123456789'

export interface Instance {
  readonly name: string
  readonly child: NodeChild
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly wsUrl: string
}

export interface Cluster {
  readonly databaseUrl: string
  readonly env: Record<string, string>
  /** Starts one more instance on the cluster's database and Redis. */
  start (name: string): Promise<Instance>
  /** The users CLI against the cluster's database and Redis, the password on stdin. */
  users (args: string[], stdin?: string): Promise<Exit>
}

export interface ClusterOptions {
  readonly redisUrl?: string
  readonly env?: Record<string, string>
}

export async function cluster (t: TestContext, options: ClusterOptions = {}): Promise<Cluster> {
  const dir = tempDir(t)
  const databaseUrl = await freshPostgres(t)
  const env: Record<string, string> = {
    ...testEnv(dir),
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '4',
    REDIS_URL: options.redisUrl ?? REDIS_TEST_URL,
    REDIS_KEY_PREFIX: redisPrefix(),
    ADMIN_TOKEN: ADMIN_PIN,
    // Far beyond any test: a socket closed by a revocation was closed by the broker, not the sweep.
    WS_REVALIDATE_INTERVAL_MS: '3600000',
    STATS_INTERVAL_MS: '200',
    ...options.env
  }
  const server = compiled('dist/src/server.js')
  return {
    databaseUrl,
    env,
    async start (name) {
      // Its own folder as the working directory keeps a developer's .env out.
      const child = new NodeChild(server, { cwd: dir, env: childEnv(env), end: true })
      t.teardown(() => { child.process.kill('SIGKILL') })
      const listening = await logLine(child, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), `${name} listening`)
      const url = String(listening.msg).replace('Server listening at ', '')
      return { name, child, url, wsUrl: url.replace('http:', 'ws:') }
    },
    async users (args, stdin = '') {
      return await runToEnd(compiled('dist/scripts/users.js'), { args, cwd: dir, env: childEnv(env), input: stdin })
    }
  }
}

export interface Tokens {
  readonly access_token: string
  readonly refresh_token: string
}

export async function login (instance: Instance, username: string, password: string): Promise<Tokens> {
  const res = await fetch(`${instance.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`login as ${username} on ${instance.name}: ${res.status} ${await res.text()}`)
  return await res.json() as Tokens
}

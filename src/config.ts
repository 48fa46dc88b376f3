import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'

/**
 * Environment → one typed, frozen Config. Every variable is read here and
 * nowhere else; every problem is collected so that a bad deployment learns
 * all of its mistakes from one failed start.
 */

export type NodeEnv = 'development' | 'production' | 'test'
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  readonly host: string
  readonly port: number
  readonly env: NodeEnv
  readonly isProduction: boolean
  readonly logLevel: LogLevel
  readonly jwtSecret: string
  /** True when no secret was configured and a random one was made for this run. */
  readonly jwtSecretGenerated: boolean
  readonly accessTokenMinutes: number
  readonly refreshTokenDays: number
  readonly clockToleranceSeconds: number
  readonly bcryptCost: number
  /** bcrypt worker threads; defaults to the number of cores. */
  readonly bcryptThreads: number
  /** The bcrypt threads' nice value: 19 (lowest priority) keeps a login storm off the event loop's CPU. */
  readonly bcryptNice: number
  readonly testTokenEnabled: boolean
  readonly testTokenUser: string
  readonly wsTestToken: string | undefined
  readonly adminToken: string | undefined
  readonly adminElevationSeconds: number
  /** Failed `admin_auth` attempts per user and per IP before each further one waits. */
  readonly adminAuthFreeFailures: number
  readonly adminAuthMaxBackoffSeconds: number
  readonly databaseUrl: string
  /** Postgres connections per instance; SQLite ignores it. */
  readonly databasePoolSize: number
  readonly redisUrl: string | undefined
  /** Put before every Redis key and channel, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string
  /** How long a dead instance's connection counts and presence entries outlive its last refresh (Redis only). */
  readonly instanceLeaseSeconds: number
  readonly corsOrigins: readonly string[] | undefined
  /** Every `POST /token` and `/token/revoke` request per IP per minute: a cap that only protects bcrypt's CPU. */
  readonly tokenRateLimit: number
  /** Failed logins per IP per minute before that IP gets 429. */
  readonly loginIpFailuresPerMinute: number
  /** Failures of one username from one IP before each further one doubles that pair's wait. */
  readonly loginFreeFailures: number
  readonly loginMaxBackoffSeconds: number
  /** Failures of one username from all IPs, within `loginUserWindowMinutes`, before the username-wide backoff. */
  readonly loginUserMaxFailures: number
  readonly loginUserWindowMinutes: number
  readonly httpRequestTimeoutMs: number
  readonly httpHeadersTimeoutMs: number
  readonly httpConnectionTimeoutMs: number
  readonly httpKeepAliveTimeoutMs: number
  /** `/docs` and `/docs/json`; off by default in production. */
  readonly docsEnabled: boolean
  readonly trustProxy: TrustProxy
  readonly wsAuthTimeoutMs: number
  readonly wsMaxPayload: number
  readonly wsMaxConnectionsPerUser: number
  /** Sockets of any state from one client IP. */
  readonly wsMaxConnectionsPerIp: number
  /** Sockets still waiting to authenticate, in total and from one client IP. */
  readonly wsMaxPending: number
  readonly wsMaxPendingPerIp: number
  /** Channels one socket may be in, `global` included. */
  readonly wsMaxSubscriptions: number
  readonly wsMessagesPerSecond: number
  readonly wsMessageBurst: number
  readonly wsMaxBufferedBytes: number
  readonly wsPerMessageDeflate: boolean
  readonly wsPingIntervalMs: number
  readonly wsRevalidateIntervalMs: number
  readonly statsIntervalMs: number
  readonly metricsToken: string | undefined
  /** The channel namespaces file (JSON or YAML); undefined = only the built-in namespaces, bare names open. */
  readonly channelsFile: string | undefined
  /** The Socket.IO 4 endpoint for frontends migrating from Socket.IO; off by default (nothing of it is loaded). */
  readonly socketIoEnabled: boolean
  /** Where the Socket.IO endpoint listens (Socket.IO's `path` option), e.g. `/socket.io`. */
  readonly socketIoPath: string
}

/** Fastify's `trustProxy`: off, on (any hop), a hop count, or a list of addresses/CIDRs. */
export type TrustProxy = boolean | number | readonly string[]

export class ConfigError extends Error {
  readonly problems: readonly string[]

  constructor (problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export const MIN_SECRET_BYTES = 32
/** A shorter admin PIN falls to guessing even with the lockout; production refuses it. */
export const MIN_ADMIN_TOKEN_LENGTH = 16
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test']

type Env = Readonly<Record<string, string | undefined>>

/** Reads variables, remembering every problem instead of stopping at the first. */
class Reader {
  readonly problems: string[] = []
  constructor (private readonly env: Env) {}

  raw (name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }

  string (name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  int (name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`)
      return fallback
    }
    return n
  }

  bool (name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase()
    if (value === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(value)) return true
    if (['0', 'false', 'no', 'off'].includes(value)) return false
    this.problems.push(`${name} must be true or false (got "${value}")`)
    return fallback
  }

  oneOf<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if ((allowed as readonly string[]).includes(value)) return value as T
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`)
    return fallback
  }

  trustProxy (name: string): TrustProxy {
    const value = this.raw(name)
    if (value === undefined) return false
    const lower = value.toLowerCase()
    if (['0', 'false', 'no', 'off'].includes(lower)) return false
    if (['true', 'yes', 'on'].includes(lower)) return true
    if (/^[1-9][0-9]?$/.test(value)) return Number(value)
    const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (list.every((s) => /^[0-9a-fA-F:.]+(\/[0-9]{1,3})?$/.test(s) || ['loopback', 'linklocal', 'uniquelocal'].includes(s))) return list
    this.problems.push(`${name} must be false, true, a hop count, or a comma list of proxy addresses (got "${value}")`)
    return false
  }

  list (name: string): string[] | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  }
}

/** A URL with its password (and user) hidden, for error messages and logs. */
export function redactUrl (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

export function loadConfig (env: Env = process.env): Config {
  const r = new Reader(env)
  const nodeEnv = r.oneOf('NODE_ENV', NODE_ENVS, 'development')
  const isProduction = nodeEnv === 'production'

  const configuredSecret = r.raw('JWT_SECRET_KEY') ?? r.raw('JWT_SECRET')
  if (configuredSecret === undefined && isProduction) {
    r.problems.push('JWT_SECRET_KEY is required when NODE_ENV=production')
  }
  if (configuredSecret !== undefined && Buffer.byteLength(configuredSecret) < MIN_SECRET_BYTES) {
    r.problems.push(`JWT_SECRET_KEY must be at least ${MIN_SECRET_BYTES} bytes (got ${Buffer.byteLength(configuredSecret)})`)
  }

  const testTokenEnabled = r.bool('TEST_TOKEN_ENABLED', !isProduction)
  if (testTokenEnabled && isProduction) {
    r.problems.push('TEST_TOKEN_ENABLED cannot be on when NODE_ENV=production')
  }

  const corsOrigins = r.list('CORS_ORIGINS')
  if (corsOrigins === undefined && isProduction) {
    r.problems.push('CORS_ORIGINS is required when NODE_ENV=production (a comma list of the origins allowed to call the API and open /ws)')
  }

  const adminToken = r.raw('ADMIN_TOKEN')
  if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN_LENGTH && isProduction) {
    r.problems.push(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters when NODE_ENV=production (got ${adminToken.length}): a short PIN can be guessed; generate one with  openssl rand -base64 24`)
  }

  const databaseUrl = r.string('DATABASE_URL', 'sqlite:./data/wsgate.db')
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    r.problems.push(`DATABASE_URL must start with sqlite: or postgres:// (got "${redactUrl(databaseUrl)}")`)
  }
  const redisUrl = r.raw('REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    r.problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redactUrl(redisUrl)}")`)
  }

  // Node refuses a headers timeout longer than the request timeout it belongs to.
  const httpTimeouts = {
    request: r.int('HTTP_REQUEST_TIMEOUT_MS', 30000, 50, 3600000),
    headers: r.int('HTTP_HEADERS_TIMEOUT_MS', 10000, 50, 3600000)
  }
  if (httpTimeouts.headers > httpTimeouts.request) {
    r.problems.push(`HTTP_HEADERS_TIMEOUT_MS (${httpTimeouts.headers}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${httpTimeouts.request})`)
  }

  const socketIoPath = r.string('SOCKETIO_PATH', '/socket.io')
  // Engine.IO matches it as a prefix of every request's URL, so it must be a plain path of its own.
  if (!/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(socketIoPath)) {
    r.problems.push(`SOCKETIO_PATH must be a path such as /socket.io: a leading /, then letters, digits or ._~- segments (got "${socketIoPath}")`)
  }

  const config: Config = {
    host: r.string('HOST', '0.0.0.0'),
    port: r.int('PORT', 8000, 0, 65535),
    env: nodeEnv,
    isProduction,
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    jwtSecret: configuredSecret ?? randomBytes(48).toString('base64url'),
    jwtSecretGenerated: configuredSecret === undefined,
    accessTokenMinutes: r.int('ACCESS_TOKEN_EXPIRE_MINUTES', 30, 1, 60 * 24 * 7),
    refreshTokenDays: r.int('REFRESH_TOKEN_EXPIRE_DAYS', 14, 1, 365),
    clockToleranceSeconds: r.int('JWT_CLOCK_TOLERANCE_SECONDS', 5, 0, 300),
    bcryptCost: r.int('BCRYPT_COST', 10, 4, 15),
    bcryptThreads: r.int('BCRYPT_THREADS', Math.max(1, availableParallelism()), 1, 256),
    bcryptNice: r.int('BCRYPT_NICE', 19, 0, 19),
    testTokenEnabled: testTokenEnabled && !isProduction,
    testTokenUser: r.string('TEST_TOKEN_USER', 'user'),
    wsTestToken: isProduction ? undefined : r.raw('WS_TEST_TOKEN'),
    adminToken,
    adminElevationSeconds: r.int('ADMIN_ELEVATION_SECONDS', 1800, 1, 86400),
    adminAuthFreeFailures: r.int('ADMIN_AUTH_FREE_FAILURES', 5, 0, 1000),
    adminAuthMaxBackoffSeconds: r.int('ADMIN_AUTH_MAX_BACKOFF_SECONDS', 3600, 1, 86400),
    databaseUrl,
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, 1, 1000),
    redisUrl,
    redisKeyPrefix: r.string('REDIS_KEY_PREFIX', 'wsgate:'),
    instanceLeaseSeconds: r.int('INSTANCE_LEASE_SECONDS', 30, 1, 3600),
    corsOrigins,
    tokenRateLimit: r.int('TOKEN_RATE_LIMIT', 300, 1, 1000000),
    loginIpFailuresPerMinute: r.int('LOGIN_IP_FAILURES_PER_MINUTE', 10, 1, 1000000),
    loginFreeFailures: r.int('LOGIN_FREE_FAILURES', 5, 0, 1000),
    loginMaxBackoffSeconds: r.int('LOGIN_MAX_BACKOFF_SECONDS', 900, 1, 86400),
    loginUserMaxFailures: r.int('LOGIN_USER_MAX_FAILURES', 50, 1, 1000000),
    loginUserWindowMinutes: r.int('LOGIN_USER_WINDOW_MINUTES', 15, 1, 1440),
    httpRequestTimeoutMs: httpTimeouts.request,
    httpHeadersTimeoutMs: httpTimeouts.headers,
    httpConnectionTimeoutMs: r.int('HTTP_CONNECTION_TIMEOUT_MS', 30000, 50, 3600000),
    httpKeepAliveTimeoutMs: r.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72000, 50, 3600000),
    docsEnabled: r.bool('DOCS_ENABLED', !isProduction),
    trustProxy: r.trustProxy('TRUST_PROXY'),
    wsAuthTimeoutMs: r.int('WS_AUTH_TIMEOUT_MS', 10000, 100, 600000),
    wsMaxPayload: r.int('WS_MAX_PAYLOAD', 65536, 128, 16 * 1024 * 1024),
    wsMaxConnectionsPerUser: r.int('WS_MAX_CONNECTIONS_PER_USER', 100, 1, 1000000),
    wsMaxConnectionsPerIp: r.int('WS_MAX_CONNECTIONS_PER_IP', 1000, 1, 1000000),
    wsMaxPending: r.int('WS_MAX_PENDING', 2000, 1, 1000000),
    wsMaxPendingPerIp: r.int('WS_MAX_PENDING_PER_IP', 20, 1, 1000000),
    wsMaxSubscriptions: r.int('WS_MAX_SUBSCRIPTIONS', 100, 1, 100000),
    wsMessagesPerSecond: r.int('WS_MESSAGES_PER_SECOND', 50, 1, 1000000),
    wsMessageBurst: r.int('WS_MESSAGE_BURST', 100, 1, 1000000),
    wsMaxBufferedBytes: r.int('WS_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    wsPerMessageDeflate: r.bool('WS_PERMESSAGE_DEFLATE', false),
    wsPingIntervalMs: r.int('WS_PING_INTERVAL_MS', 30000, 50, 600000),
    wsRevalidateIntervalMs: r.int('WS_REVALIDATE_INTERVAL_MS', 30000, 50, 3600000),
    statsIntervalMs: r.int('STATS_INTERVAL_MS', 5000, 100, 3600000),
    metricsToken: r.raw('METRICS_TOKEN'),
    channelsFile: r.raw('CHANNELS_FILE'),
    socketIoEnabled: r.bool('SOCKETIO_ENABLED', false),
    socketIoPath
  }

  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return Object.freeze(config)
}

import { existsSync } from 'node:fs'
import closeWithGrace from 'close-with-grace'
import { DemoAccountError } from './auth/demo-user.js'
import { ChannelsFileError } from './channels/channels-file.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { hintFirstUser } from './first-user.js'

/**
 * How long a shutdown may take before the process exits 1 anyway. Sockets
 * get 2 s to answer their 1001 (CLOSE_GRACE_MS), then the audit queue, Redis
 * and the database pool close; 10 s is well inside Docker's and Kubernetes'
 * default stop grace period, so the bound, not SIGKILL, ends a stuck close.
 */
const SHUTDOWN_BOUND_MS = 10_000

function readConfig (): Config {
  // `.env` fills in what the environment does not set; the environment wins.
  if (existsSync('.env')) process.loadEnvFile('.env')
  try {
    return loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}

const config = readConfig()
// Loaded after the config is read: a bad variable is reported without first loading the whole app.
const { buildApp } = await import('./app.js')
const app = await buildApp(config).catch((err: unknown) => {
  // A refusal to start is a sentence for the operator, not a stack trace.
  if (!(err instanceof DemoAccountError || err instanceof ChannelsFileError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
})

// SIGTERM, SIGINT (and the other termination signals), an uncaught error or
// an emptied event loop: stop accepting, close every socket with 1001, write
// the audit queue, close Redis and the pool (each plugin's onClose), exit 0.
closeWithGrace({
  delay: SHUTDOWN_BOUND_MS,
  logger: false,
  onTimeout: (delay) => { app.log.error({ boundMs: delay }, `shutdown did not finish within ${delay} ms; exiting with code 1`) },
  onSecondSignal: (signal) => { app.log.error({ signal }, 'second signal during shutdown; exiting with code 1') },
  onSecondError: (err) => { app.log.error({ err }, 'error during shutdown; exiting with code 1') }
}, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'uncaught error: shutting down, then exiting with code 1')
  else app.log.info({ signal }, 'shutting down: closing sockets with 1001')
  try {
    await app.close()
  } catch (closeErr) {
    app.log.error({ err: closeErr }, 'shutdown failed; exiting with code 1')
    throw closeErr
  }
})

try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({
    env: config.env,
    testTokens: config.testTokenEnabled ? 'on' : 'off',
    demoUser: config.isProduction ? 'never created' : 'created when the user table is empty',
    jwtSecret: config.jwtSecretGenerated ? 'random for this run' : 'configured',
    corsOrigins: config.corsOrigins ?? 'any (development)',
    trustProxy: config.trustProxy,
    tokenRateLimitPerMinute: config.tokenRateLimit,
    loginIpFailuresPerMinute: config.loginIpFailuresPerMinute,
    loginFreeFailuresPerUserAndIp: config.loginFreeFailures,
    loginUserMaxFailures: `${config.loginUserMaxFailures} in ${config.loginUserWindowMinutes} min`,
    demoPassword: config.isProduction ? 'refused' : 'accepted',
    httpTimeoutsMs: { request: config.httpRequestTimeoutMs, headers: config.httpHeadersTimeoutMs, connection: config.httpConnectionTimeoutMs, keepAlive: config.httpKeepAliveTimeoutMs },
    messagesRestMaxBytes: config.wsMaxPayload,
    docs: config.docsEnabled ? 'on' : 'off',
    wsMaxConnectionsPerUser: config.wsMaxConnectionsPerUser,
    wsMaxConnectionsPerIp: config.wsMaxConnectionsPerIp,
    wsMaxPending: config.wsMaxPending,
    wsMaxPendingPerIp: config.wsMaxPendingPerIp,
    wsMaxSubscriptions: config.wsMaxSubscriptions,
    wsMessagesPerSecond: config.wsMessagesPerSecond,
    // Whether the PIN is set, never the PIN.
    adminPin: config.adminToken === undefined ? 'off' : 'on',
    adminAuthFreeFailures: config.adminAuthFreeFailures,
    adminAuthMaxBackoffSeconds: config.adminAuthMaxBackoffSeconds,
    metrics: config.metricsToken !== undefined ? 'Bearer METRICS_TOKEN' : config.isProduction ? 'off (no METRICS_TOKEN)' : 'open'
  }, 'protections')
} catch (err) {
  app.log.error({ err }, 'failed to start')
  process.exit(1)
}
// Not a reason to stop: a server that cannot count its users will say more on its first request.
await hintFirstUser(app.users, app.log).catch((err: unknown) => { app.log.error({ err }, 'could not count the users at start') })

import { existsSync } from 'node:fs'
import { DemoAccountError } from './auth/demo-user.js'
import { ConfigError, loadConfig, type Config } from './config.js'

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
  if (!(err instanceof DemoAccountError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
})

let closing = false
async function shutdown (signal: string): Promise<void> {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down: closing sockets with 1001')
  const forced = setTimeout(() => { process.exit(1) }, 10_000)
  forced.unref()
  try {
    await app.close()
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'shutdown failed')
    process.exit(1)
  }
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })

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
    adminAuthMaxBackoffSeconds: config.adminAuthMaxBackoffSeconds
  }, 'protections')
} catch (err) {
  app.log.error({ err }, 'failed to start')
  process.exit(1)
}

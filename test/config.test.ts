import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, MIN_SECRET_BYTES, loadConfig } from '../src/config.js'
import { ROOT, compiled } from './cli.js'
import { NodeChild } from './scripts/child.js'
import { scratchDir } from './scripts/temp.js'

const SECRET = 'a-production-secret-of-at-least-32-bytes!'
/** Production also requires an explicit CORS list; tests of other rules supply it. */
const ORIGINS = 'https://app.example.com'

/** The ConfigError loadConfig throws for env, or a failure if it does not throw one. */
function problemsOf (env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 8000)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.accessTokenMinutes, 30)
  t.equal(config.databaseUrl, 'sqlite:./data/wsgate.db')
  t.equal(config.env, 'development')
  t.equal(config.isProduction, false)
  t.equal(config.testTokenEnabled, true, 'test tokens are on outside production')
  t.equal(config.testTokenUser, 'user')
  t.equal(config.jwtSecretGenerated, true)
  t.type(config.jwtSecret, 'string')
  t.ok(Buffer.byteLength(config.jwtSecret) >= MIN_SECRET_BYTES, 'the generated secret is long enough')
  t.not(loadConfig({}).jwtSecret, config.jwtSecret, 'a new random secret per load')
  t.equal(loadConfig({ NODE_ENV: 'test' }).testTokenEnabled, true, 'on in test too')
})

t.test('the result is frozen', async (t) => {
  const config = loadConfig({})
  t.ok(Object.isFrozen(config))
  const mutable: { port: number } = config
  t.throws(() => { mutable.port = 1 }, TypeError, 'assigning throws in strict mode')
  t.equal(Reflect.set(config, 'port', 2), false)
  t.equal(config.port, 8000)
})

t.test('values are read and trimmed', async (t) => {
  const config = loadConfig({ PORT: ' 9000 ', HOST: '127.0.0.1', ACCESS_TOKEN_EXPIRE_MINUTES: '2', JWT_SECRET_KEY: SECRET, LOG_LEVEL: 'warn' })
  t.equal(config.port, 9000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.accessTokenMinutes, 2)
  t.equal(config.jwtSecret, SECRET)
  t.equal(config.jwtSecretGenerated, false)
  t.equal(config.logLevel, 'warn')
})

t.test('every bad variable is reported at once', async (t) => {
  const problems = problemsOf({ PORT: 'abc', BCRYPT_COST: '99', LOG_LEVEL: 'loud' })
  t.equal(problems.length, 3, problems.join('\n'))
  t.ok(problems.some((p) => p.includes('PORT')), 'names PORT')
  t.ok(problems.some((p) => p.includes('BCRYPT_COST')), 'names BCRYPT_COST')
  t.ok(problems.some((p) => p.includes('LOG_LEVEL')), 'names LOG_LEVEL')

  try {
    loadConfig({ PORT: 'abc', BCRYPT_COST: '99', LOG_LEVEL: 'loud' })
    t.fail('should throw')
  } catch (err) {
    t.type(err, ConfigError)
    const message = err instanceof Error ? err.message : ''
    for (const name of ['PORT', 'BCRYPT_COST', 'LOG_LEVEL']) t.match(message, name, `message names ${name}`)
  }
})

t.test('numbers must be whole and in range', async (t) => {
  for (const [name, value] of [['PORT', '70000'], ['PORT', '-1'], ['PORT', '80.5'], ['ACCESS_TOKEN_EXPIRE_MINUTES', '0'], ['BCRYPT_COST', '3']] as const) {
    const problems = problemsOf({ [name]: value })
    t.equal(problems.length, 1, `${name}=${value}`)
    t.match(problems[0] ?? '', name)
  }
  t.match(problemsOf({ TEST_TOKEN_ENABLED: 'maybe' })[0] ?? '', 'TEST_TOKEN_ENABLED')
  t.match(problemsOf({ NODE_ENV: 'staging' })[0] ?? '', 'NODE_ENV')
})

t.test('production requires JWT_SECRET_KEY', async (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', CORS_ORIGINS: ORIGINS })
  t.equal(problems.length, 1, problems.join('\n'))
  t.match(problems[0] ?? '', 'JWT_SECRET_KEY')
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET, CORS_ORIGINS: ORIGINS })
  t.equal(config.isProduction, true)
  t.equal(config.jwtSecretGenerated, false)
})

t.test('a secret under 32 bytes is refused in every environment', async (t) => {
  const short = 'x'.repeat(31)
  for (const NODE_ENV of ['development', 'test', 'production']) {
    const problems = problemsOf({ NODE_ENV, JWT_SECRET_KEY: short, CORS_ORIGINS: ORIGINS })
    t.equal(problems.length, 1, `${NODE_ENV}: ${problems.join('\n')}`)
    t.match(problems[0] ?? '', 'JWT_SECRET_KEY', NODE_ENV)
    t.match(problems[0] ?? '', '32', NODE_ENV)
  }
  t.match(problemsOf({ JWT_SECRET: short })[0] ?? '', /JWT_SECRET/, 'the alias is checked too')
  // 11 × '€' is 33 bytes in 11 characters: bytes are what count.
  t.equal(loadConfig({ JWT_SECRET_KEY: '€'.repeat(11) }).jwtSecret, '€'.repeat(11))
  t.equal(loadConfig({ JWT_SECRET_KEY: 'x'.repeat(32) }).jwtSecret, 'x'.repeat(32), '32 bytes is enough')
})

t.test('JWT_SECRET is an alias, and JWT_SECRET_KEY wins over it', async (t) => {
  const aliased = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, CORS_ORIGINS: ORIGINS })
  t.equal(aliased.jwtSecret, SECRET)
  t.equal(aliased.jwtSecretGenerated, false)
  const both = loadConfig({ JWT_SECRET_KEY: SECRET, JWT_SECRET: `${SECRET}-other` })
  t.equal(both.jwtSecret, SECRET)
})

t.test('production requires an explicit CORS_ORIGINS list', async (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET })
  t.equal(problems.length, 1, problems.join('\n'))
  t.match(problems[0] ?? '', 'CORS_ORIGINS')
  t.same(loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET, CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins, ['https://a.example', 'https://b.example'])
  t.equal(loadConfig({}).corsOrigins, undefined, 'development allows any origin')
})

t.test('TRUST_PROXY forms', async (t) => {
  t.equal(loadConfig({}).trustProxy, false, 'off by default')
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2, 'a hop count')
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, ['10.0.0.1', '10.1.0.0/16'])
  t.match(problemsOf({ TRUST_PROXY: 'everyone' })[0] ?? '', 'TRUST_PROXY')
})

t.test('test tokens in production', async (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET, CORS_ORIGINS: ORIGINS, TEST_TOKEN_ENABLED: 'true' })
  t.equal(problems.length, 1, problems.join('\n'))
  t.match(problems[0] ?? '', 'TEST_TOKEN_ENABLED')

  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET, CORS_ORIGINS: ORIGINS })
  t.equal(config.testTokenEnabled, false, 'off by default in production')
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: SECRET, CORS_ORIGINS: ORIGINS, WS_TEST_TOKEN: 'fixed-dev-token' }).wsTestToken, undefined, 'WS_TEST_TOKEN is ignored in production')
  t.equal(loadConfig({ TEST_TOKEN_ENABLED: 'false' }).testTokenEnabled, false, 'can be turned off in development')
})

t.test('the server refuses to start on a bad config and names every bad variable', async (t) => {
  // A minimal environment: nothing inherited can supply a secret.
  const env: Record<string, string> = { NODE_ENV: 'production', PORT: 'abc' }
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME
  // The compiled server, as `npm start` runs it, from an empty folder: no .env there either.
  const exit = await new NodeChild(compiled('dist/src/server.js'), { cwd: scratchDir(t), env, end: true }).closed()
  t.not(exit.code, 0, `exit code ${String(exit.code)}`)
  t.not(exit.code, null, 'exited by itself, not killed')
  t.match(exit.stderr, 'JWT_SECRET_KEY')
  t.match(exit.stderr, 'PORT')
  t.notMatch(exit.stderr, /\n\s+at /, 'a clean message, not a stack trace')
})

// The deployment files (docker-compose.yml, deploy/, the Dockerfile) are checked in test/deploy.test.ts.

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

t.test('.env.example names every key src/config.ts reads', async (t) => {
  const config = read('src/config.ts')
  const keys = new Set<string>()
  for (const m of config.matchAll(/\br\.(?:raw|int|bool|string|oneOf|list)\(\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) {
    keys.add(m[1]!)
  }
  t.ok(keys.size >= 20, `found the config keys (${keys.size})`)
  const example = read('.env.example')
  for (const key of [...keys].sort()) {
    t.match(example, new RegExp(`^[ \\t]*(?:#[ \\t]*)?${key}=`, 'm'), `${key} is in .env.example`)
  }
})

import { readFileSync } from 'node:fs'
import { join, posix, relative } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
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

/**
 * The deployment files are checked by reading them: no Docker engine runs in
 * CI. These tests keep docker-compose.yml, the Dockerfile, the build output
 * and .env.example in step with each other and with src/config.ts. They live
 * here because they take milliseconds: a file of their own would pay a whole
 * test process's start-up for them.
 */

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} is not a mapping`)
  return v
}

const compose = obj(parse(read('docker-compose.yml')), 'docker-compose.yml')
const services = obj(compose.services, 'services')
const service = (name: string): Obj => obj(services[name], `services.${name}`)

/** Compose accepts `environment` as a mapping or as a list of KEY=VALUE. */
function envOf (svc: Obj): Record<string, string> {
  const env = svc.environment
  const out: Record<string, string> = {}
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item)
      const i = s.indexOf('=')
      if (i === -1) out[s] = ''
      else out[s.slice(0, i)] = s.slice(i + 1)
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? '' : String(v)
  }
  return out
}

/** Container ports a service publishes ("8000:8000", "127.0.0.1:8000:8000/tcp", { target }). */
function containerPorts (svc: Obj): number[] {
  const ports = Array.isArray(svc.ports) ? svc.ports : []
  return ports.map((p) => {
    if (isObj(p)) return Number(p.target)
    const parts = String(p).split('/')[0]!.split(':')
    return Number(parts[parts.length - 1])
  })
}

t.test('docker-compose.yml', async (t) => {
  t.notOk('version' in compose, 'no obsolete top-level version key')
  for (const name of ['app', 'postgres', 'redis']) {
    t.ok(isObj(services[name]), `service ${name} exists`)
  }

  const app = service('app')

  t.test('app builds from the repository and publishes 8000', async (t) => {
    const build = isObj(app.build) ? app.build.context : app.build
    t.equal(build, '.', 'build context is .')
    t.ok(containerPorts(app).includes(8000), 'publishes container port 8000')
    const published = (Array.isArray(app.ports) ? app.ports : []).map(String)
    t.ok(published.some((p) => /(^|:)8000:8000(\/tcp)?$/.test(p)), 'host port 8000 maps to container port 8000')
  })

  t.test('app waits for healthy postgres and redis', async (t) => {
    const deps = obj(app.depends_on, 'app.depends_on')
    for (const name of ['postgres', 'redis']) {
      const dep = obj(deps[name], `app.depends_on.${name}`)
      t.equal(dep.condition, 'service_healthy', `${name}: condition service_healthy`)
      const hc = obj(service(name).healthcheck, `services.${name}.healthcheck`)
      t.ok(hc.disable !== true, `${name} healthcheck is not disabled`)
      t.ok(Array.isArray(hc.test) ? hc.test.length > 1 : typeof hc.test === 'string' && hc.test.length > 0,
        `${name} has a healthcheck test`)
    }
  })

  t.test('app environment matches the services it talks to', async (t) => {
    const env = envOf(app)
    t.equal(env.NODE_ENV, 'production', 'NODE_ENV=production')
    t.match(env.JWT_SECRET_KEY ?? '', /^\$\{JWT_SECRET_KEY:\?[^}]+\}$/, 'JWT_SECRET_KEY uses the required ${VAR:?message} form')

    const pg = envOf(service('postgres'))
    const db = new URL(env.DATABASE_URL ?? 'invalid:')
    t.equal(db.protocol, 'postgres:', 'DATABASE_URL is postgres://')
    t.equal(db.hostname, 'postgres', 'DATABASE_URL points at the postgres service')
    t.equal(db.port || '5432', '5432', 'DATABASE_URL uses port 5432')
    t.equal(decodeURIComponent(db.username), pg.POSTGRES_USER, 'user matches POSTGRES_USER')
    t.equal(decodeURIComponent(db.password), pg.POSTGRES_PASSWORD, 'password matches POSTGRES_PASSWORD')
    t.equal(decodeURIComponent(db.pathname.replace(/^\//, '')), pg.POSTGRES_DB, 'database matches POSTGRES_DB')

    const redis = new URL(env.REDIS_URL ?? 'invalid:')
    t.equal(redis.protocol, 'redis:', 'REDIS_URL is redis://')
    t.equal(redis.hostname, 'redis', 'REDIS_URL points at the redis service')
  })

  t.test('every named volume is declared', async (t) => {
    const declared = isObj(compose.volumes) ? Object.keys(compose.volumes) : []
    const used: string[] = []
    for (const [name, svc] of Object.entries(services)) {
      const vols = isObj(svc) && Array.isArray(svc.volumes) ? svc.volumes : []
      for (const v of vols) {
        let source: string | undefined
        if (isObj(v)) {
          if (v.type === 'volume' && typeof v.source === 'string') source = v.source
        } else {
          const parts = String(v).split(':')
          // A single part is an anonymous volume; paths are bind mounts.
          if (parts.length > 1 && !/^[./~$]/.test(parts[0]!)) source = parts[0]
        }
        if (source !== undefined) {
          used.push(source)
          t.ok(declared.includes(source), `${name}: volume ${source} is declared`)
        }
      }
    }
    t.ok(used.includes('pgdata'), 'postgres keeps its data in the pgdata volume')
  })
})

/** Dockerfile instructions of the final stage, with line continuations joined. */
function finalStage (text: string): Array<{ op: string, args: string }> {
  const joined = text.replace(/\\\r?\n/g, ' ')
  const lines = joined.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const instructions = lines.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!
    return { op: m[1]!.toUpperCase(), args: m[2]! }
  })
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM')
  return instructions.slice(lastFrom)
}

/** Exec form (JSON array) or shell form, as argv. */
function argv (args: string): string[] {
  const trimmed = args.trim()
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[]
  return trimmed.split(/\s+/)
}

/** tsconfig "extends" chain, resolving outDir/rootDir relative to the file that sets them. */
function tsOptions (file: string): { outDir?: string, rootDir?: string } {
  const text = read(file).replace(/^\s*\/\/.*$/gm, '')
  const json = JSON.parse(text) as { extends?: string, compilerOptions?: { outDir?: string, rootDir?: string } }
  const base = json.extends !== undefined ? tsOptions(posix.join(posix.dirname(file), json.extends)) : {}
  const here = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : posix.normalize(posix.join(posix.dirname(file), p))
  return {
    outDir: here(json.compilerOptions?.outDir) ?? base.outDir,
    rootDir: here(json.compilerOptions?.rootDir) ?? base.rootDir
  }
}

t.test('Dockerfile', async (t) => {
  const stage = finalStage(read('Dockerfile'))
  t.ok(stage.length > 1 && stage[0]!.op === 'FROM', 'has a final stage')

  const cmds = stage.filter((i) => i.op === 'CMD')
  t.ok(cmds.length > 0, 'final stage has a CMD')
  const cmd = argv(cmds[cmds.length - 1]!.args)
  t.equal(cmd[0], 'node', 'CMD runs node')
  const script = cmd[1] ?? ''
  t.equal(script, 'dist/src/server.js', 'CMD runs dist/src/server.js')

  const exposed = stage.filter((i) => i.op === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]))
  for (const port of containerPorts(service('app'))) {
    t.ok(exposed.includes(port), `EXPOSEs ${port}, the port compose publishes`)
  }
  const envPort = stage.filter((i) => i.op === 'ENV').map((i) => /(?:^|\s)PORT=(\d+)/.exec(i.args)?.[1]).find((p) => p !== undefined)
  t.equal(Number(envPort), 8000, 'ENV PORT matches the exposed port')

  t.ok(stage.some((i) => i.op === 'USER' && i.args.trim() === 'node'), 'runs as the node user')
  t.ok(stage.some((i) => i.op === 'HEALTHCHECK' && /\/health\b/.test(i.args)), 'has a HEALTHCHECK on /health')

  t.test('npm run build emits where CMD looks', async (t) => {
    const pkg = JSON.parse(read('package.json')) as { scripts?: Record<string, string> }
    const build = pkg.scripts?.build ?? ''
    const m = /\btsc\b.*?(?:-p|--project)\s+(\S+)/.exec(build)
    t.ok(m, `build script runs tsc -p <config> (got "${build}")`)
    const configFile = m?.[1] ?? 'tsconfig.json'
    const { outDir, rootDir } = tsOptions(configFile)
    t.ok(outDir, `${configFile} sets outDir`)
    t.ok(rootDir, `${configFile} sets rootDir`)
    const emitted = posix.join(outDir ?? '', relative(rootDir ?? '.', 'src/server.ts').split('\\').join('/'))
      .replace(/\.ts$/, '.js')
    t.equal(emitted, script, `src/server.ts compiles to ${emitted}`)

    const outTop = (outDir ?? '').split('/')[0]!
    t.ok(stage.some((i) => i.op === 'COPY' && new RegExp(`^--from=\\S+\\s+\\S*/${outTop}\\s`).test(i.args)),
      `final stage copies ${outTop}/ from the build stage`)

    // Every input of the build (the tsconfig's include list, the pages builder) reaches the build stage.
    const copied = read('Dockerfile').split('\n').filter((line) => /^COPY\s+(?!--from)/.test(line))
      .flatMap((line) => line.trim().split(/\s+/).slice(1, -1))
    const include = (JSON.parse(read(configFile).replace(/^\s*\/\/.*$/gm, '')) as { include?: string[] }).include ?? []
    for (const input of [...include, 'scripts/build-web.mjs']) {
      t.ok(copied.some((source) => input === source || input.startsWith(`${source}/`)), `the build stage copies ${input}`)
    }
  })
})

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

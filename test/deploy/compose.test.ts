import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/**
 * The deployment files are checked by reading them: no Docker engine runs in
 * CI. These tests keep docker-compose.yml, the Dockerfile, the build output
 * and .env.example in step with each other and with src/config.ts.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (file: string): string => readFileSync(join(root, file), 'utf8')

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

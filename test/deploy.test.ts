import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { ROOT, compiled } from './cli.js'
import {
  argv, backticked, composeVariables, envOf, finalStage, interpolate, isObj, markdownSection, nginxDirectives,
  obj, publishedPorts, read, readCompose, stageEnv, tableAfter, tsOptions, type Obj
} from './deploy-files.js'
import { NodeChild, runToEnd } from './scripts/child.js'
import { scratchDir } from './scripts/temp.js'
import { REDIS_TEST_URL, freshPostgres, redisPrefix } from './services.js'

// The deployment files, checked by reading them (no Docker engine runs in CI)
// and by starting the compiled server with the environment Compose gives it.
// They are kept in step with each other, with src/config.ts and with the README.

const compose = readCompose()
const services = obj(compose.services, 'services')
const service = (name: string): Obj => obj(services[name], `services.${name}`)
const APPS = ['app1', 'app2']
const stage = finalStage(read('Dockerfile'))
const imageEnv = stageEnv(stage)
const appPort = Number(imageEnv.PORT)
const nginx = read('deploy/nginx.conf')
const readme = markdownSection(read('README.md'), 'Running several instances')

/** What a shell (or .env) gives Compose in these tests; CORS_ORIGINS and ADMIN_TOKEN keep their defaults. */
const SHELL = { JWT_SECRET_KEY: 'a-compose-secret-of-at-least-32-bytes-long!!', METRICS_TOKEN: 'compose-metrics-token-0123456789' }
const appEnv = (name: string, shell: Record<string, string> = SHELL): Record<string, string> =>
  Object.fromEntries(Object.entries(envOf(service(name))).map(([k, v]) => [k, interpolate(v, shell)]))

const lbAddress = (): string => {
  const networks = obj(service('lb').networks, 'lb.networks')
  const [network] = Object.values(networks)
  return String(obj(network, 'lb network').ipv4_address)
}

t.test('the services are the ones the README describes, with its ports', async (t) => {
  t.notOk('version' in compose, 'no obsolete top-level version key')
  const rows = tableAfter(readme, 'The stack in `docker-compose.yml`')
  const described = rows.flatMap((row) => backticked(row[0] ?? ''))
  t.same([...described].sort(), Object.keys(services).sort(), 'one README row per service')
  const internal: Record<string, number> = {
    app1: appPort,
    app2: appPort,
    postgres: Number(new URL(appEnv('app1').DATABASE_URL!).port || 5432),
    redis: Number(new URL(appEnv('app1').REDIS_URL!).port || 6379)
  }
  for (const row of rows) {
    const port = Number(backticked(row[2] ?? '')[0])
    for (const name of backticked(row[0] ?? '')) {
      const published = publishedPorts(service(name))
      if (/publishes/.test(row[2] ?? '')) {
        t.same(published.map((p) => p.host), [port], `${name} publishes ${port}, as the README says`)
      } else {
        t.same(published, [], `${name} publishes nothing`)
        t.equal(port, internal[name], `${name} listens on ${port} inside the network`)
      }
    }
  }
  t.match(readme, `http://localhost:${publishedPorts(service('lb'))[0]?.host ?? 'none'}`, 'the README sends clients to the load balancer')
})

t.test('app1 and app2: one image, one configuration, waiting for healthy Postgres and Redis', async (t) => {
  t.same(appEnv('app1'), appEnv('app2'), 'the same environment')
  for (const name of APPS) {
    const app = service(name)
    const build = isObj(app.build) ? app.build.context : app.build
    t.equal(build, '.', `${name} builds from the repository`)
    t.equal(app.image, service('app1').image, `${name} is the same image`)
    const deps = obj(app.depends_on, `${name}.depends_on`)
    for (const dep of ['postgres', 'redis']) t.equal(obj(deps[dep], dep).condition, 'service_healthy', `${name} waits for healthy ${dep}`)
    const hc = obj(app.healthcheck, `${name}.healthcheck`)
    t.match(JSON.stringify(hc.test), `http://127.0.0.1:${appPort}/ready`, `${name}'s healthcheck asks /ready on its port`)
  }
  for (const name of ['postgres', 'redis', 'lb']) {
    const hc = obj(service(name).healthcheck, `${name}.healthcheck`)
    t.ok(Array.isArray(hc.test) && hc.test.length > 1 && hc.disable !== true, `${name} has a healthcheck`)
  }
  t.equal(obj(obj(service('lb').depends_on, 'lb.depends_on').app1, 'app1').condition, 'service_healthy', 'lb waits for healthy apps')
})

t.test('the app environment points at the services and is one the config accepts', async (t) => {
  const env = appEnv('app1')
  const pg = envOf(service('postgres'))
  const db = new URL(env.DATABASE_URL ?? 'invalid:')
  t.equal(db.protocol, 'postgres:')
  t.equal(db.hostname, 'postgres', 'DATABASE_URL points at the postgres service')
  t.equal(decodeURIComponent(db.username), pg.POSTGRES_USER)
  t.equal(decodeURIComponent(db.password), pg.POSTGRES_PASSWORD)
  t.equal(db.pathname.slice(1), pg.POSTGRES_DB)
  t.equal(new URL(env.REDIS_URL ?? 'invalid:').hostname, 'redis', 'REDIS_URL points at the redis service')

  const config = loadConfig({ ...imageEnv, ...env })
  t.equal(config.isProduction, true)
  t.equal(config.port, appPort)
  t.same(config.trustProxy, [lbAddress()], 'TRUST_PROXY is the load balancer\'s address, and only that')
  t.same(config.corsOrigins, ['http://localhost:8000'], 'CORS_ORIGINS defaults to the load balancer\'s URL')
  t.equal(config.metricsToken, SHELL.METRICS_TOKEN)
  t.equal(config.redisKeyPrefix, 'wsgate:')
  t.equal(loadConfig({ ...imageEnv, ...appEnv('app1', { JWT_SECRET_KEY: SHELL.JWT_SECRET_KEY }) }).metricsToken, undefined, 'accepted without METRICS_TOKEN too (/metrics off)')
  t.throws(() => appEnv('app1', {}), /JWT_SECRET_KEY/, 'Compose refuses to start without JWT_SECRET_KEY')
})

t.test('the README lists every variable Compose reads, and how', async (t) => {
  const used = composeVariables(read('docker-compose.yml'))
  const rows = tableAfter(readme, 'Compose reads')
  const listed = new Map(rows.map((row) => [backticked(row[0] ?? '')[0] ?? '', row[1] ?? '']))
  t.same([...listed.keys()].sort(), [...used.keys()].sort(), 'the same variables')
  for (const [name, how] of used) {
    if (how.required) t.match(listed.get(name), /required/i, `${name} is marked required`)
    if (how.fallback !== undefined && how.fallback !== '') t.match(listed.get(name), `\`${how.fallback}\``, `${name}'s default is given`)
  }
})

t.test('nginx passes WebSocket upgrades to both apps and the client address to them', async (t) => {
  const lb = service('lb')
  const mounts = (Array.isArray(lb.volumes) ? lb.volumes : []).map(String)
  t.ok(mounts.some((m) => /^\.\/deploy\/nginx\.conf:\/etc\/nginx\/nginx\.conf(:ro)?$/.test(m)), 'deploy/nginx.conf is mounted as the nginx config')
  t.match(String(lb.image), /^nginx:/, 'the official nginx image')
  t.same(nginxDirectives(nginx, 'server').filter((s) => /^app\d/.test(s)).map((s) => s.split(' ')[0]), APPS.map((a) => `${a}:${appPort}`), 'both apps upstream, on the image\'s port')
  t.same(nginxDirectives(nginx, 'listen'), [String(publishedPorts(lb)[0]?.container)], 'listens on the port Compose publishes')
  const headers = nginxDirectives(nginx, 'proxy_set_header')
  t.ok(headers.includes('Upgrade $http_upgrade'), 'passes Upgrade')
  t.ok(headers.includes('Connection $connection_upgrade'), 'passes Connection: upgrade')
  t.match(nginx, /map \$http_upgrade \$connection_upgrade \{[^}]*default upgrade;/, 'from the Upgrade header')
  t.ok(headers.includes('X-Forwarded-For $remote_addr'), 'sets X-Forwarded-For to the peer')
  t.same(nginxDirectives(nginx, 'proxy_http_version'), ['1.1'], 'HTTP/1.1 to the upstream, which upgrades need')
  const readTimeout = Number(/^(\d+)s$/.exec(nginxDirectives(nginx, 'proxy_read_timeout')[0] ?? '')?.[1])
  const ping = loadConfig({ ...imageEnv, ...appEnv('app1') }).wsPingIntervalMs
  t.ok(readTimeout * 1000 > 2 * ping, `proxy_read_timeout ${readTimeout} s outlasts two ping intervals (${ping} ms)`)
})

t.test('Dockerfile', async (t) => {
  t.ok(stage.length > 1 && stage[0]!.op === 'FROM', 'has a final stage')
  const cmd = argv(stage.filter((i) => i.op === 'CMD').at(-1)?.args ?? '[]')
  t.same(cmd, ['node', 'dist/src/server.js'], 'CMD runs the compiled server')
  const exposed = stage.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]))
  t.ok(exposed.includes(appPort), `EXPOSEs ${appPort}, ENV PORT, the port nginx forwards to`)
  t.equal(imageEnv.NODE_ENV, 'production')
  t.ok(stage.some((i) => i.op === 'USER' && i.args.trim() === 'node'), 'runs as the node user')
  t.ok(stage.some((i) => i.op === 'HEALTHCHECK' && /\/health\b/.test(i.args)), 'has a HEALTHCHECK on /health')

  const pkg = JSON.parse(read('package.json')) as { scripts?: Record<string, string> }
  const configFile = /\btsc\b.*?(?:-p|--project)\s+(\S+)/.exec(pkg.scripts?.build ?? '')?.[1] ?? 'tsconfig.json'
  const { outDir = '', rootDir = '.' } = tsOptions(configFile)
  const emitted = (source: string): string => join(outDir, relative(rootDir, source)).split('\\').join('/').replace(/\.ts$/, '.js')
  t.equal(emitted('src/server.ts'), cmd[1], 'src/server.ts compiles to what CMD runs')
  t.ok(stage.some((i) => i.op === 'COPY' && new RegExp(`^--from=\\S+\\s+\\S*/${outDir}\\s`).test(i.args)), `the final stage copies ${outDir}/ from the build stage`)
  // The CLIs the image must run (the first admin, a database copy): compiled by the build, so present in dist/.
  const include = (JSON.parse(read(configFile).replace(/^\s*\/\/.*$/gm, '')) as { include?: string[] }).include ?? []
  const clis = ['scripts/users.ts', 'scripts/db-copy.ts'].filter((f) => f === 'scripts/users.ts' || existsSync(join(ROOT, f)))
  for (const cli of clis) {
    t.ok(include.some((i) => cli === i || cli.startsWith(`${i}/`)), `${configFile} compiles ${cli}`)
    t.ok(existsSync(join(ROOT, emitted(cli))), `npm run build emitted ${emitted(cli)}, which the image runs`)
  }
  // Every input of the build reaches the build stage.
  const copied = read('Dockerfile').split('\n').filter((line) => /^COPY\s+(?!--from)/.test(line))
    .flatMap((line) => line.trim().split(/\s+/).slice(1, -1))
  for (const input of [...include, 'scripts/build-web.mjs']) {
    t.ok(copied.some((source) => input === source || input.startsWith(`${source}/`)), `the build stage copies ${input}`)
  }
})

t.test('the README\'s two instances without Docker: one database, one secret, two ports', async (t) => {
  const lines = readme.split('\n').filter((l) => /^PORT=\d+ .*\bnpm start\b/.test(l))
  t.equal(lines.length, 2, 'two npm start lines')
  const envs = lines.map((l) => Object.fromEntries([...l.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1]!, m[2]!])))
  const [a, b] = envs as [Record<string, string>, Record<string, string>]
  t.not(a.PORT, b.PORT, 'different ports')
  t.same({ ...a, PORT: '' }, { ...b, PORT: '' }, 'everything else the same')
  t.match(readme, /JWT_SECRET_KEY=\$\(openssl rand -base64 48\)"? >> \.env/, 'one secret for both, in the .env both read')
  const dbName = /createdb -h 127\.0\.0\.1 -U postgres (\S+)/.exec(readme)?.[1]
  t.equal(new URL(a.DATABASE_URL ?? 'invalid:').pathname.slice(1), dbName, 'DATABASE_URL names the database the README creates')
  for (const env of envs) {
    const config = loadConfig({ ...env, JWT_SECRET_KEY: SHELL.JWT_SECRET_KEY })
    t.match(config, { databaseUrl: /^postgres:\/\/[^/]*127\.0\.0\.1:5432\//, redisUrl: 'redis://127.0.0.1:6379' }, `PORT=${env.PORT ?? ''}: accepted, local Postgres and Redis`)
  }
})

// Needs the Postgres store and the Redis broker: app1's environment, with the
// service addresses pointed at this machine's Postgres and Redis.
t.test('the compiled server starts with the environment Compose gives app1', async (t) => {
  const env: Record<string, string> = {
    ...(process.env.PATH !== undefined ? { PATH: process.env.PATH } : {}),
    ...imageEnv,
    ...appEnv('app1'),
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: await freshPostgres(t),
    REDIS_URL: REDIS_TEST_URL,
    REDIS_KEY_PREFIX: redisPrefix()
  }
  const child = new NodeChild(compiled('dist/src/server.js'), { cwd: scratchDir(t), env, end: true })
  t.teardown(() => { child.process.kill('SIGKILL') })
  const listening = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:(\d+))"/
  await child.output((s) => listening.test(s) && s.includes('No users yet'), 'listening, and the no-users hint')
  const [, url, port] = listening.exec(child.stdout)!
  const ready = await fetch(`${url!}/ready`)
  t.equal(ready.status, 200)
  t.match(await ready.json(), { status: 'ready', database: 'ok', broker: 'redis' })
  t.equal((await fetch(`${url!}/metrics`)).status, 401, '/metrics wants METRICS_TOKEN')
  t.equal((await fetch(`${url!}/metrics`, { headers: { authorization: `Bearer ${SHELL.METRICS_TOKEN}` } })).status, 200)
  // Compose's healthcheck, run as written with the port this child got.
  const test = (service('app1').healthcheck as { test: string[] }).test.map((arg) => arg.replace(`:${appPort}/`, `:${port!}/`))
  t.same(test.slice(0, 3), ['CMD', 'node', '-e'])
  // runToEnd runs `node <file> <args>`: here `node -e <script>`.
  t.equal((await runToEnd('-e', { args: test.slice(3), cwd: ROOT, env })).code, 0, 'the healthcheck passes')
  const exit = await child.stop('SIGTERM')
  t.equal(exit.code, 0, 'and stops gracefully')
})

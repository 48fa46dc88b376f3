import { spawn } from 'node:child_process'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ROOT } from '../cli.js'
import { build, tempDir, testEnv } from '../helper.js'

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }
const SECRET = 'a-production-secret-of-at-least-32-bytes!'

async function status (built: Awaited<ReturnType<typeof build>>, url: string): Promise<number> {
  return (await built.app.inject({ url })).statusCode
}

t.test('DOCS_ENABLED: off by default in production, on elsewhere, and a bad value is a start error', async (t) => {
  t.equal(loadConfig({ ...PRODUCTION, JWT_SECRET_KEY: SECRET }).docsEnabled, false)
  t.equal(loadConfig({ ...PRODUCTION, JWT_SECRET_KEY: SECRET, DOCS_ENABLED: 'true' }).docsEnabled, true)
  t.equal(loadConfig({}).docsEnabled, true)
  t.equal(loadConfig({ DOCS_ENABLED: 'false' }).docsEnabled, false)
  t.throws(() => loadConfig({ DOCS_ENABLED: 'maybe' }), ConfigError)
})

t.test('production serves no /docs unless asked to', async (t) => {
  const prod = await build(t, PRODUCTION)
  for (const url of ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html']) t.equal(await status(prod, url), 404, `${url}: 404`)
  t.equal(await status(prod, '/health'), 200, 'the rest is served')
  const opted = await build(t, { ...PRODUCTION, DOCS_ENABLED: 'true' })
  t.equal(await status(opted, '/docs/json'), 200, 'DOCS_ENABLED=true serves it in production')
})

t.test('development serves /docs unless turned off', async (t) => {
  const dev = await build(t)
  t.equal(await status(dev, '/docs/json'), 200)
  const off = await build(t, { DOCS_ENABLED: 'false' })
  t.equal(await status(off, '/docs/json'), 404)
  t.equal(await status(off, '/docs'), 404)
})

t.test('the production protections line says docs are off and lists the new limits', async (t) => {
  const dir = tempDir(t)
  const env = { ...process.env, ...testEnv(dir, PRODUCTION), HOST: '127.0.0.1', PORT: '0', TOKEN_RATE_LIMIT: '', LOGIN_IP_FAILURES_PER_MINUTE: '', LOGIN_FREE_FAILURES: '', LOGIN_USER_MAX_FAILURES: '' }
  const child = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => { reject(new Error(`no protections line: ${buffered}`)) }, 30_000)
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const found = buffered.split('\n').find((l) => l.includes('"msg":"protections"'))
      if (found !== undefined) {
        clearTimeout(timer)
        resolve(JSON.parse(found) as Record<string, unknown>)
      }
    })
  })
  t.match(line, {
    docs: 'off',
    tokenRateLimitPerMinute: 300,
    loginIpFailuresPerMinute: 10,
    loginFreeFailuresPerUserAndIp: 5,
    loginUserMaxFailures: '50 in 15 min',
    demoPassword: 'refused',
    httpTimeoutsMs: { request: 30000, headers: 10000, connection: 30000, keepAlive: 72000 },
    messagesRestMaxBytes: 65536
  })
  child.kill('SIGTERM')
  await new Promise((resolve) => { child.on('exit', resolve) })
})

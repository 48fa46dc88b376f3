import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import Database from 'better-sqlite3'
import t from 'tap'
import { ROOT as ADMIN, loginAdmin } from '../admin/admin.js'
import { ROOT, childEnv } from '../cli.js'
import { build, tempDir, testEnv } from '../helper.js'
import { TestSocket, closedWithin, type Closed } from '../ws-client.js'

const SERVER = join(ROOT, 'dist', 'src', 'server.js')
const PIN = 'shutdown-test-admin-pin'

function newestFile (dir: string, pattern: RegExp): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && pattern.test(entry.name)) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * The compiled server, refused when the last build is older than the sources
 * so the test never runs yesterday's code. The build's time is its newest
 * output: tsc leaves an output it would not change untouched.
 */
function compiledServer (): string {
  try {
    statSync(SERVER)
  } catch {
    throw new Error(`${SERVER} is missing: run \`npm run build\` first`)
  }
  if (newestFile(join(ROOT, 'src'), /\.(ts|mjs)$/) > newestFile(join(ROOT, 'dist'), /\.js$/)) throw new Error(`${SERVER} is older than the sources: run \`npm run build\` first`)
  return SERVER
}

type Server = ChildProcessByStdio<null, Readable, Readable>

/** Resolves with the first JSON log line that `match` accepts. */
async function logLine (child: Server, match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(() => { reject(new Error(`log line not seen: ${buffered.slice(-2000)}`)) }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString()
      for (const text of buffered.split('\n')) {
        if (!text.startsWith('{')) continue
        const line = JSON.parse(text) as Record<string, unknown>
        if (match(line)) {
          clearTimeout(timer)
          child.stdout.off('data', onData)
          resolve(line)
          return
        }
      }
    }
    child.stdout.on('data', onData)
  })
}

async function login (url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status}`)
  return ((await res.json()) as { access_token: string }).access_token
}

t.test('SIGTERM closes every socket with 1001, writes the audit queue and exits 0', async (t) => {
  const script = compiledServer()
  const dir = tempDir(t)
  // The server's database, with an admin in it, made by the app itself.
  const seed = await build(t, {}, { dir })
  await loginAdmin(seed)
  await seed.app.close()

  // A long auth timeout: pending sockets must be closed by the shutdown, not by their timer.
  const env = childEnv({ ...testEnv(dir), HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: PIN, WS_AUTH_TIMEOUT_MS: '60000' })
  const child = spawn(process.execPath, [script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
  const protections = logLine(child, (l) => l.msg === 'protections')
  const listening = await logLine(child, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'))
  const url = String(listening.msg).replace('Server listening at ', '')
  t.match(await protections, { wsMaxPending: 2000, wsMaxPendingPerIp: 20, wsMaxConnectionsPerIp: 1000, wsMaxSubscriptions: 100, adminPin: 'on', adminAuthFreeFailures: 5 }, 'the protections line lists the new limits')
  t.notOk(JSON.stringify(await protections).includes(PIN), 'and not the PIN')

  const wsUrl = url.replace('http:', 'ws:')
  const userToken = await login(url, 'user', 'password')
  const adminToken = await login(url, ADMIN.username, ADMIN.password)
  const pending = await TestSocket.open(`${wsUrl}/ws`)
  const authenticating = await TestSocket.open(`${wsUrl}/ws`)
  const user = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`)
  const elevated = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`)
  elevated.send({ type: 'admin_auth', token: PIN })
  t.match(await elevated.next(), { type: 'admin_auth_response', success: true })
  const admin = await TestSocket.connect(`${wsUrl}/admin/ws?token=${adminToken}`)
  const marker = `shutdown-test/${process.pid}-${Date.now()}`
  const last = await TestSocket.connect(`${wsUrl}/ws?token=${userToken}`, { headers: { 'user-agent': marker } })
  last.send({ type: 'admin_auth', token: 'not-the-pin' })
  t.match(await last.next(), { type: 'admin_auth_response', success: false })
  // Sent right after that failure was recorded, well inside the audit log's 250 ms batching.
  authenticating.send({ type: 'authenticate', token: userToken })
  const signalled = Date.now()
  child.kill('SIGTERM')

  const sockets = { pending, authenticating, user, elevated, admin, last }
  const closes: Record<string, Closed> = {}
  for (const [name, socket] of Object.entries(sockets)) closes[name] = await closedWithin(socket, 8000)
  for (const [name, closed] of Object.entries(closes)) t.same(closed, { code: 1001, reason: 'Server shutting down' }, `${name} got 1001`)
  const code = await Promise.race([exited, new Promise<string>((resolve) => { setTimeout(() => { resolve('still running') }, 9000).unref() })])
  t.equal(code, 0, 'the process exits 0')
  t.ok(Date.now() - signalled < 5000, `within 5 s of SIGTERM (took ${Date.now() - signalled} ms)`)

  const db = new Database(join(dir, 'test.db'), { readonly: true })
  t.teardown(() => { db.close() })
  const rows = db.prepare('SELECT kind, username, outcome FROM audit_log WHERE user_agent = ? AND kind = ?').all(marker, 'admin_auth')
  t.same(rows, [{ kind: 'admin_auth', username: 'user', outcome: 'failure' }], 'the audit row written just before shutdown is in the database')
})

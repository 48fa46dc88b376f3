import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { ROOT as ADMIN, loginAdmin } from '../admin/admin.js'
import { childEnv, compiled } from '../cli.js'
import { build, tempDir, testEnv } from '../helper.js'
import { NodeChild } from '../scripts/child.js'
import { TestSocket, closedWithin, type Closed } from '../ws-client.js'

const PIN = 'shutdown-test-admin-pin'

/** The first complete JSON log line on the child's stdout that `match` accepts, once it is there. */
async function logLine (child: NodeChild, match: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  const find = (stdout: string): Record<string, unknown> | undefined => {
    // Complete lines only: the last piece may still be arriving.
    for (const text of stdout.split('\n').slice(0, -1)) {
      if (!text.startsWith('{')) continue
      const line = JSON.parse(text) as Record<string, unknown>
      if (match(line)) return line
    }
    return undefined
  }
  await child.output((stdout) => find(stdout) !== undefined, what)
  const line = find(child.stdout)
  if (line === undefined) throw new Error(`${what} vanished`)
  return line
}

async function login (url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status}`)
  return ((await res.json()) as { access_token: string }).access_token
}

t.test('SIGTERM closes every socket with 1001, writes the audit queue and exits 0', async (t) => {
  const script = compiled('dist/src/server.js')
  const dir = tempDir(t)
  // The server's database, with an admin in it, made by the app itself.
  const seed = await build(t, {}, { dir })
  await loginAdmin(seed)
  await seed.app.close()

  // A long auth timeout: pending sockets must be closed by the shutdown, not by their timer.
  const env = childEnv({ ...testEnv(dir), HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: PIN, WS_AUTH_TIMEOUT_MS: '60000' })
  // NodeChild starts it without tap's loader, from the temp folder: no .env there.
  const child = new NodeChild(script, { cwd: dir, env, end: true })
  t.teardown(() => { child.process.kill('SIGKILL') })
  const listening = await logLine(child, (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), 'the listening line')
  const protections = logLine(child, (l) => l.msg === 'protections', 'the protections line')
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
  child.process.kill('SIGTERM')

  const sockets = { pending, authenticating, user, elevated, admin, last }
  const closes: Record<string, Closed> = {}
  for (const [name, socket] of Object.entries(sockets)) closes[name] = await closedWithin(socket, 8000)
  for (const [name, closed] of Object.entries(closes)) t.same(closed, { code: 1001, reason: 'Server shutting down' }, `${name} got 1001`)
  // Killed, and a failure, if it is still running after 9 s.
  const exit = await child.closed(9000)
  t.equal(exit.code, 0, 'the process exits 0')
  t.ok(Date.now() - signalled < 5000, `within 5 s of SIGTERM (took ${Date.now() - signalled} ms)`)

  const db = new Database(join(dir, 'test.db'), { readonly: true })
  t.teardown(() => { db.close() })
  const rows = db.prepare('SELECT kind, username, outcome FROM audit_log WHERE user_agent = ? AND kind = ?').all(marker, 'admin_auth')
  t.same(rows, [{ kind: 'admin_auth', username: 'user', outcome: 'failure' }], 'the audit row written just before shutdown is in the database')
})

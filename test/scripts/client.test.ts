import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The client runs as a child process against a real server child process,
 * exactly as `npm run client` would, so stdin EOF, exit codes and stderr are
 * what a shell user sees.
 */

type Json = Record<string, unknown>

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SERVER_START_MS = 30_000
const CLIENT_RUN_MS = 15_000

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => { resolve(port) })
    })
  })
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** A child's exit, or undefined if it is still running after `ms`. */
async function exitWithin (child: ChildProcess, ms: number): Promise<number | null | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve(undefined) }, ms)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

async function startServer (): Promise<{ base: string, stop: () => Promise<void> }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-client-'))
  const server = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'w.db')}`,
      BCRYPT_COST: '4',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      JWT_SECRET_KEY: 'client-test-secret-0123456789abcdefghijk',
      // Every client run logs in from the same address.
      TOKEN_RATE_LIMIT: '1000'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-4000) }
  server.stdout?.on('data', keep)
  server.stderr?.on('data', keep)

  const stop = async (): Promise<void> => {
    server.kill('SIGTERM')
    if (await exitWithin(server, 5000) === undefined) server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }

  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + SERVER_START_MS
  while (Date.now() < deadline) {
    if (server.exitCode !== null) break
    const healthy = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
    if (healthy) return { base, stop }
    await sleep(100)
  }
  await stop()
  throw new Error(`server did not become healthy:\n${output}`)
}

const { base, stop } = await startServer()
t.teardown(stop)
const wsUrl = `${base.replace('http:', 'ws:')}/ws`

/** The client's environment without the caller's own wsgate credentials. */
function clientEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (extra.WSGATE_PASSWORD === undefined) delete env.WSGATE_PASSWORD
  if (extra.WSGATE_TOKEN === undefined) delete env.WSGATE_TOKEN
  return env
}

async function runClient (args: string[], options: { input?: string, env?: Record<string, string> } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import=tsx', 'scripts/client.ts', ...args], {
    cwd: root,
    env: clientEnv(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  // The client may exit before reading its input; that is not this test's failure.
  child.stdin?.on('error', () => {})
  child.stdin?.end(options.input ?? '')
  const code = await exitWithin(child, CLIENT_RUN_MS)
  if (code === undefined) {
    child.kill('SIGKILL')
    throw new Error(`client still running after ${CLIENT_RUN_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`)
  }
  // 'exit' can come before the pipes have delivered their last bytes.
  await sleep(50)
  return { code, stdout, stderr }
}

function messages (stdout: string): Json[] {
  return stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Json)
}

function payloadOf (message: Json | undefined): Json {
  const payload = message?.payload
  return typeof payload === 'object' && payload !== null ? payload as Json : {}
}

async function accessToken (): Promise<string> {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    body: new URLSearchParams({ username: 'user', password: 'password' })
  })
  const body = await response.json() as { access_token?: unknown }
  if (typeof body.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(body)}`)
  return body.access_token
}

t.test('logs in, sends a JSON line, prints the stamped echo and exits 0 on EOF', async (t) => {
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--password', 'password'], {
    input: '{"type":"test","payload":{"message":"Hello"}}\n'
  })
  t.equal(run.code, 0, run.stderr)
  const received = messages(run.stdout)
  t.equal(received[0]?.type, 'connection_established')
  const echo = received.find((m) => m.type === 'test')
  t.equal(payloadOf(echo).message, 'Hello')
  t.equal(echo?.user, 'user')
  t.type(echo?.timestamp, 'number')
  t.match(echo?.requestId, UUID)
  t.equal(run.stderr, '', 'a normal close prints nothing on stderr')
})

t.test('a plain text line is wrapped as a message; blank lines are skipped', async (t) => {
  const token = await accessToken()
  const run = await runClient(['--url', wsUrl, '--token', token, '--linger', '500'], { input: 'hello there\n\n[1,2]\n' })
  t.equal(run.code, 0, run.stderr)
  const sent = messages(run.stdout).filter((m) => m.type === 'message')
  t.same(sent.map((m) => payloadOf(m).text), ['hello there', '[1,2]'], 'non-object JSON travels as text')
  t.equal(sent[0]?.user, 'user')
  t.match(sent[0]?.requestId, UUID)
  t.notOk(run.stdout.includes(token) || run.stderr.includes(token), 'the token is never printed')
})

for (const auth of ['header', 'subprotocol', 'message']) {
  t.test(`--auth ${auth} carries the token`, async (t) => {
    const token = await accessToken()
    const run = await runClient(['--url', wsUrl, '--token', token, '--auth', auth, '--linger', '500'], {
      input: `${JSON.stringify({ type: 'test', payload: { message: `via ${auth}` } })}\n`
    })
    t.equal(run.code, 0, run.stderr)
    const echo = messages(run.stdout).find((m) => m.type === 'test')
    t.equal(payloadOf(echo).message, `via ${auth}`)
    t.equal(echo?.user, 'user')
    t.notOk(run.stdout.includes(token), 'token not on stdout')
    t.notOk(run.stderr.includes(token), 'token not on stderr')
  })
}

t.test('a bad token: the server closes 1008 and the client exits 1', async (t) => {
  const token = 'not-a-valid-jwt-0123456789'
  const run = await runClient(['--url', wsUrl, '--token', token])
  t.equal(run.code, 1)
  t.match(run.stderr, 'closed: 1008 Invalid token')
  t.notOk(run.stdout.includes(token) || run.stderr.includes(token), 'the token is never printed')
})

t.test('a wrong password: the server\'s description and exit 1', async (t) => {
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--password', 'wrong-password'])
  t.equal(run.code, 1)
  t.match(run.stderr, 'Incorrect username or password')
  t.equal(run.stdout, '')
})

t.test('the password can come from WSGATE_PASSWORD', async (t) => {
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--linger', '300'], { env: { WSGATE_PASSWORD: 'password' } })
  t.equal(run.code, 0, run.stderr)
  t.equal(messages(run.stdout)[0]?.type, 'connection_established')
})

t.test('--username without any password is a usage error', async (t) => {
  const run = await runClient(['--url', wsUrl, '--username', 'user'])
  t.equal(run.code, 2)
  t.match(run.stderr, 'WSGATE_PASSWORD')
})

t.test('a refused connection is reported plainly with exit 1', async (t) => {
  const token = await accessToken()
  const port = await freePort()
  const run = await runClient(['--url', `ws://127.0.0.1:${port}/ws`, '--token', token])
  t.equal(run.code, 1)
  t.match(run.stderr, 'connection refused')
  t.notOk(run.stderr.includes(token), 'the token is not in the error, even though the URL carried it')
})

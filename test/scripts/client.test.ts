import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { childEnv, compiled } from '../cli.js'
import { NodeChild, type Exit } from './child.js'

/**
 * The client runs as a child process against a real server child process,
 * both compiled as `npm run build` emits them, so stdin EOF, exit codes and
 * stderr are what a shell user sees.
 *
 * No run depends on how quickly replies come: a client that must print
 * replies keeps its stdin open until they are on its stdout and then gets
 * EOF with `--linger 0`; a client that must exit by itself (refusals, bad
 * arguments) never gets EOF at all.
 *
 * The runs share one server and go side by side, and every connected socket
 * receives every broadcast: a run picks out its own echo by a text no other
 * run sends, and only one run sends plain text (type "message").
 */

type Json = Record<string, unknown>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const serverScript = compiled('dist/src/server.js')
const clientScript = compiled('dist/scripts/client.js')
// Children work in a temp folder: a developer's .env in the checkout stays out of them.
const dir = mkdtempSync(join(tmpdir(), 'wsgate-client-'))
// Each run is a child that mostly waits on sockets; a few at a time use both cores.
t.jobs = 4

async function startServer (): Promise<string> {
  const server = new NodeChild(serverScript, {
    cwd: dir,
    env: childEnv({
      HOST: '127.0.0.1',
      // The server picks a free port and logs it: no port probed here and taken by someone else meanwhile.
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'w.db')}`,
      BCRYPT_COST: '4',
      BCRYPT_THREADS: '1',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      JWT_SECRET_KEY: 'client-test-secret-0123456789abcdefghijk',
      // Every client run logs in from the same address.
      TOKEN_RATE_LIMIT: '1000'
    })
  })
  // One teardown, so the folder goes only after the server that writes in it has stopped.
  // (test/production.test.ts checks that SIGTERM stops it cleanly.)
  t.teardown(async () => {
    try {
      await server.stop()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  // Logged once listen() has resolved.
  await server.output((stdout) => stdout.includes('"msg":"protections"'), 'the server\'s start-up line')
  const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1]
  if (port === undefined) throw new Error(`no listening address in the server's log\n${server.describe()}`)
  return `http://127.0.0.1:${port}`
}

// Not awaited here: the runs that need no server start while it starts.
const started = startServer()
// Awaited by every run that needs it; a failure to start fails those.
started.catch(() => {})

async function served (): Promise<{ base: string, wsUrl: string }> {
  const base = await started
  return { base, wsUrl: `${base.replace('http:', 'ws:')}/ws` }
}

/** The client's environment without the caller's own wsgate credentials. */
function clientEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = childEnv(extra)
  if (extra.WSGATE_PASSWORD === undefined) delete env.WSGATE_PASSWORD
  if (extra.WSGATE_TOKEN === undefined) delete env.WSGATE_TOKEN
  return env
}

/** The complete lines of stdout, one received message each. */
function messages (stdout: string): Json[] {
  return stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Json)
}

function payloadOf (message: Json | undefined): Json {
  const payload = message?.payload
  return typeof payload === 'object' && payload !== null ? payload as Json : {}
}

interface RunOptions {
  readonly input?: string
  readonly env?: Record<string, string>
  /**
   * Once the messages printed so far satisfy this, stdin ends (EOF). Without
   * it stdin stays open, so the client can only end by itself.
   */
  readonly endInputWhen?: (received: Json[]) => boolean
  /** Instead of EOF, SIGINT once the messages satisfy this. */
  readonly interruptWhen?: (received: Json[]) => boolean
}

async function runClient (args: string[], options: RunOptions = {}): Promise<Exit> {
  const child = new NodeChild(clientScript, { args, cwd: dir, env: clientEnv(options.env ?? {}), input: options.input ?? '' })
  try {
    if (options.endInputWhen !== undefined) {
      const when = options.endInputWhen
      await child.output((stdout) => when(messages(stdout)), 'the replies the test waits for')
      child.endInput()
    }
    if (options.interruptWhen !== undefined) {
      const when = options.interruptWhen
      await child.output((stdout) => when(messages(stdout)), 'the replies the test waits for')
      child.process.kill('SIGINT')
    }
    return await child.closed()
  } finally {
    // A child left running after a failure would keep the test process alive.
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL')
  }
}

/** The echo of this run's own test message, picked out by a text no other run sends. */
function echoIn (received: Json[], text: string): Json | undefined {
  return received.find((m) => m.type === 'test' && payloadOf(m).message === text)
}

function echoOf (text: string): (received: Json[]) => boolean {
  return (received) => echoIn(received, text) !== undefined
}

async function accessToken (): Promise<string> {
  const { base } = await served()
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    body: new URLSearchParams({ username: 'user', password: 'password' })
  })
  const body = await response.json() as { access_token?: unknown }
  if (typeof body.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(body)}`)
  return body.access_token
}

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort (): Promise<number> {
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

t.test('--username without any password is a usage error', async (t) => {
  // Refused before any connection: no server is needed.
  const run = await runClient(['--url', 'ws://127.0.0.1:9/ws', '--username', 'user'])
  t.equal(run.code, 2)
  t.match(run.stderr, 'WSGATE_PASSWORD')
})

t.test('a refused connection is reported plainly with exit 1', async (t) => {
  // The connection fails before any token is checked, so it need not be a valid one, nor the server up.
  const token = 'eyJhbGciOiJIUzI1NiJ9.a-token-in-the-url.0123456789'
  const port = await closedPort()
  const run = await runClient(['--url', `ws://127.0.0.1:${port}/ws`, '--token', token])
  t.equal(run.code, 1)
  t.match(run.stderr, 'connection refused')
  t.notOk(run.stderr.includes(token), 'the token is not in the error, even though the URL carried it')
})

t.test('logs in, sends a JSON line, prints the stamped echo and exits 0 on EOF', async (t) => {
  const { wsUrl } = await served()
  // The default --linger (1 s after EOF) is left as a user gets it.
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--password', 'password'], {
    input: '{"type":"test","payload":{"message":"Hello"}}\n',
    endInputWhen: echoOf('Hello')
  })
  t.equal(run.code, 0, run.stderr)
  const received = messages(run.stdout)
  t.equal(received[0]?.type, 'connection_established')
  const echo = echoIn(received, 'Hello')
  t.equal(payloadOf(echo).message, 'Hello')
  t.equal(echo?.user, 'user')
  t.type(echo?.timestamp, 'number')
  t.match(echo?.requestId, UUID)
  t.equal(run.stderr, '', 'a normal close prints nothing on stderr')
})

t.test('replies that arrive after stdin has ended are printed while the client lingers', async (t) => {
  const { wsUrl } = await served()
  const token = await accessToken()
  // EOF at once; the linger is far longer than any test, so SIGINT ends the run once the echo is out.
  const run = await runClient(['--url', wsUrl, '--token', token, '--linger', '600000'], {
    input: '{"type":"test","payload":{"message":"after EOF"}}\n',
    interruptWhen: echoOf('after EOF')
  })
  t.equal(run.code, 130, 'interrupted')
  t.equal(run.stderr, '', 'SIGINT closes normally (1000): nothing on stderr')
  t.equal(payloadOf(echoIn(messages(run.stdout), 'after EOF')).message, 'after EOF')
})

t.test('a plain text line is wrapped as a message; blank lines are skipped', async (t) => {
  const { wsUrl } = await served()
  const token = await accessToken()
  const run = await runClient(['--url', wsUrl, '--token', token, '--linger', '0'], {
    input: 'hello there\n\n[1,2]\n',
    // The server answers in order: once the last line's echo is out, so are the others'.
    endInputWhen: (received) => received.some((m) => m.type === 'message' && payloadOf(m).text === '[1,2]')
  })
  t.equal(run.code, 0, run.stderr)
  // No other run sends plain text, so every "message" here is this run's.
  const sent = messages(run.stdout).filter((m) => m.type === 'message')
  t.same(sent.map((m) => payloadOf(m).text), ['hello there', '[1,2]'], 'non-object JSON travels as text')
  t.equal(sent[0]?.user, 'user')
  t.match(sent[0]?.requestId, UUID)
  t.notOk(run.stdout.includes(token) || run.stderr.includes(token), 'the token is never printed')
})

for (const auth of ['header', 'subprotocol', 'message']) {
  t.test(`--auth ${auth} carries the token`, async (t) => {
    const { wsUrl } = await served()
    const token = await accessToken()
    const run = await runClient(['--url', wsUrl, '--token', token, '--auth', auth, '--linger', '0'], {
      input: `${JSON.stringify({ type: 'test', payload: { message: `via ${auth}` } })}\n`,
      endInputWhen: echoOf(`via ${auth}`)
    })
    t.equal(run.code, 0, run.stderr)
    const echo = echoIn(messages(run.stdout), `via ${auth}`)
    t.equal(payloadOf(echo).message, `via ${auth}`)
    t.equal(echo?.user, 'user')
    t.notOk(run.stdout.includes(token), 'token not on stdout')
    t.notOk(run.stderr.includes(token), 'token not on stderr')
  })
}

t.test('a bad token: the server closes 1008 and the client exits 1', async (t) => {
  const { wsUrl } = await served()
  const token = 'not-a-valid-jwt-0123456789'
  // stdin stays open: the client ends because the server closed, not because its linger ran out.
  const run = await runClient(['--url', wsUrl, '--token', token])
  t.equal(run.code, 1)
  t.match(run.stderr, 'closed: 1008 Invalid token')
  t.notOk(run.stdout.includes(token) || run.stderr.includes(token), 'the token is never printed')
})

t.test('a wrong password: the server\'s description and exit 1', async (t) => {
  const { wsUrl } = await served()
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--password', 'wrong-password'])
  t.equal(run.code, 1)
  t.match(run.stderr, 'Incorrect username or password')
  t.equal(run.stdout, '')
})

t.test('the password can come from WSGATE_PASSWORD', async (t) => {
  const { wsUrl } = await served()
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--linger', '0'], {
    env: { WSGATE_PASSWORD: 'password' },
    endInputWhen: (received) => received.length > 0
  })
  t.equal(run.code, 0, run.stderr)
  t.equal(messages(run.stdout)[0]?.type, 'connection_established')
})

import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Close } from '../../src/protocol/index.js'
import { ExitCode, exitForClose, exitForConnectError } from '../../scripts/lib/client-exit.js'
import { AwaitedAnswers } from '../../scripts/lib/client-once.js'
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

/** The client's environment without the caller's own wsgate credentials or address. */
function clientEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = childEnv(extra)
  for (const name of ['WSGATE_PASSWORD', 'WSGATE_TOKEN', 'WSGATE_URL', 'PORT', 'HOST']) {
    if (extra[name] === undefined) delete env[name]
  }
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
  /** EOF right after the input: for --once, which must then end by itself. */
  readonly end?: boolean
}

async function runClient (args: string[], options: RunOptions = {}): Promise<Exit> {
  const child = new NodeChild(clientScript, { args, cwd: dir, env: clientEnv(options.env ?? {}), input: options.input ?? '', end: options.end })
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

t.test('a refused connection is reported plainly with exit 5 (network)', async (t) => {
  // The connection fails before any token is checked, so it need not be a valid one, nor the server up.
  const token = 'eyJhbGciOiJIUzI1NiJ9.a-token-in-the-url.0123456789'
  const port = await closedPort()
  const run = await runClient(['--url', `ws://127.0.0.1:${port}/ws`, '--token', token])
  t.equal(run.code, ExitCode.network)
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

t.test('a bad token: the server closes 1008 and the client exits 4 (token refused)', async (t) => {
  const { wsUrl } = await served()
  const token = 'not-a-valid-jwt-0123456789'
  // stdin stays open: the client ends because the server closed, not because its linger ran out.
  const run = await runClient(['--url', wsUrl, '--token', token])
  t.equal(run.code, ExitCode.tokenRefused)
  t.match(run.stderr, 'closed: 1008 Invalid token')
  t.notOk(run.stdout.includes(token) || run.stderr.includes(token), 'the token is never printed')
})

t.test('a wrong password: the server\'s description and exit 3 (login refused)', async (t) => {
  const { wsUrl } = await served()
  const run = await runClient(['--url', wsUrl, '--username', 'user', '--password', 'wrong-password'])
  t.equal(run.code, ExitCode.loginRefused)
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

t.test('a token endpoint that cannot be reached: exit 5 (network), not a refused login', async (t) => {
  const port = await closedPort()
  const run = await runClient(['--url', `ws://127.0.0.1:${port}/ws`, '--username', 'user', '--password', 'password'])
  t.equal(run.code, ExitCode.network)
  t.match(run.stderr, `cannot reach http://127.0.0.1:${port}/token: connection refused`)
  t.notOk(run.stderr.includes('password'), 'the password is not printed')
})

t.test('--once sends stdin and exits 0 after the echo, however long --linger is', async (t) => {
  const { wsUrl } = await served()
  const token = await accessToken()
  // EOF at once and a linger longer than the test: only the echo can end the run.
  const run = await runClient(['--url', wsUrl, '--token', token, '--once', '--linger', '600000'], {
    input: '{"type":"test","payload":{"message":"once A"}}\n{"type":"test","payload":{"message":"once B"}}\n{"type":"get_status"}\n',
    end: true
  })
  t.equal(run.code, 0, run.stderr)
  const received = messages(run.stdout)
  t.ok(echoIn(received, 'once A'), 'the first line\'s echo is out')
  t.ok(echoIn(received, 'once B'), 'the second line\'s echo is out')
  t.ok(received.some((m) => m.type === 'status'), 'a reply carrying the line\'s requestId answers it')
  t.equal(run.stderr, '')
})

t.test('--once exits 1 when the server answers a line with an error frame', async (t) => {
  const { wsUrl } = await served()
  const token = await accessToken()
  // `pong` is a reserved type: the server refuses to publish it and names the line's requestId.
  const run = await runClient(['--url', wsUrl, '--token', token, '--once', '--linger', '600000'], {
    input: '{"type":"pong","requestId":"mine-1"}\n',
    end: true
  })
  t.equal(run.code, ExitCode.failure)
  t.match(run.stderr, '1 line(s) refused')
  const error = messages(run.stdout).find((m) => m.type === 'error')
  t.equal(error?.requestId, 'mine-1', 'a requestId the line had is kept')
})

t.test('without --url: WSGATE_URL, else ws://HOST:PORT/ws as the server reads them', async (t) => {
  const { wsUrl } = await served()
  const token = await accessToken()
  const port = new URL(wsUrl).port
  const cases: Array<[string, Record<string, string>]> = [
    ['WSGATE_URL', { WSGATE_URL: wsUrl, PORT: '1' }],
    ['HOST and PORT', { HOST: '127.0.0.1', PORT: port }]
  ]
  for (const [what, env] of cases) {
    const text = `default url from ${what}`
    const run = await runClient(['--token', token, '--once', '--linger', '600000'], {
      env,
      input: `${JSON.stringify({ type: 'test', payload: { message: text } })}\n`,
      end: true
    })
    t.equal(run.code, 0, `${what}: ${run.stderr}`)
    t.ok(echoIn(messages(run.stdout), text), `${what}: the echo came back`)
  }
  // A server on the default address would be a different server: PORT=0 cannot be connected to.
  const zero = await runClient(['--token', token], { env: { PORT: '0' } })
  t.equal(zero.code, ExitCode.usage)
  t.match(zero.stderr, 'PORT=0')
})

t.test('exit codes for each way a socket ends', async (t) => {
  t.equal(exitForClose(1000, ''), ExitCode.ok)
  t.equal(exitForClose(1006, ''), ExitCode.network, 'no close frame: the connection dropped')
  for (const spec of [Close.invalidToken, Close.tokenExpired, Close.sessionRevoked, Close.forbidden, Close.invalidPayload, Close.missingToken]) {
    t.equal(exitForClose(spec.code, spec.reason), ExitCode.tokenRefused, spec.reason)
  }
  for (const spec of [Close.rateLimited, Close.shuttingDown, Close.tooManyConnections, Close.internalError]) {
    t.equal(exitForClose(spec.code, spec.reason), ExitCode.failure, spec.reason)
  }
  t.equal(exitForConnectError(undefined, 401), ExitCode.tokenRefused, 'a proxy refusing the handshake with 401')
  t.equal(exitForConnectError(undefined, 429), ExitCode.failure, 'a cap refusing the handshake')
  t.equal(exitForConnectError(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), undefined), ExitCode.network)
})

t.test('--once tells its own echo from the same text sent by another user or to another channel', async (t) => {
  const answers = new AwaitedAnswers()
  const frame = JSON.parse(answers.track('{"type":"chat","channel":"room:a","payload":{"n":1}}')) as Json
  t.type(frame.requestId, 'string', 'a requestId is added for replies and error frames to name')
  answers.receive('{"type":"connection_established","user":"me","connectionId":"c"}')
  const echo = { type: 'chat', payload: { n: 1 }, timestamp: 1, requestId: 'server-side', channel: 'room:a', offset: 3 }
  answers.receive(JSON.stringify({ ...echo, user: 'someone-else' }))
  answers.receive(JSON.stringify({ ...echo, user: 'me', channel: 'room:b' }))
  answers.receive(JSON.stringify({ ...echo, user: 'me', payload: { n: 2 } }))
  t.equal(answers.waiting, 1, 'none of those is the echo')
  // Key order differs from what was sent: the server re-serializes.
  answers.receive(JSON.stringify({ offset: 3, user: 'me', payload: { n: 1 }, type: 'chat', channel: 'room:a', requestId: 'server-side', timestamp: 2 }))
  t.equal(answers.waiting, 0)
  t.equal(answers.refused, 0)
})

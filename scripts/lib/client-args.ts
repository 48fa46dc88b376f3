import { parseArgs } from 'node:util'

export const USAGE = `Usage: npm run client -- [--url <ws-url>] (--token <jwt> | --username <name> [--password <pw>]) [options]

A websocat-like client for wsgate: stdin lines go out, received messages come
out on stdout as one JSON line each. When stdin ends it waits --linger ms for
replies, then closes normally.

Options:
  --url <url>           WebSocket URL (default: the WSGATE_URL variable, else
                        ws://<HOST>:<PORT>/ws from the same HOST and PORT the
                        server reads, .env included: ws://localhost:8000/ws)
  --token <jwt>         access token (or set WSGATE_TOKEN)
  --username <name>     log in first with POST <token-url>
  --password <pw>       the password (default: the WSGATE_PASSWORD variable,
                        which keeps it out of the process list)
  --auth <how>          how the token travels: query (default), header,
                        subprotocol or message
  --token-url <url>     token endpoint (default: from --url, path /token)
  --linger <ms>         wait after stdin ends (default 1000)
  --once                send stdin, then close as soon as every line has its
                        answer: its echo, or a reply or error frame carrying
                        its requestId; --linger is then the longest wait for
                        them (default 10000)
  -h, --help            show this text

Input: a line that is a JSON object is sent as it is; any other non-empty line
is sent as {"type":"message","payload":{"text":<line>}}.

Examples:
  echo '{"type":"test"}' | WSGATE_PASSWORD=password npm run client -- --username user
  npm run client -- --url wss://chat.example.com/ws --token "$TOKEN" --auth header
  echo '{"type":"deploy","payload":{"v":42}}' | npm run client -- --token "$TOKEN" --once

Exit codes:
  0    normal close (1000)
  1    any other failure: another close code (1001 shutdown, 1011, 1013...),
       a line --once saw refused or unanswered, an unexpected server reply
  2    bad arguments
  3    login refused by the token endpoint (wrong password, throttled)
  4    token refused by the socket (close 1008: invalid, expired, revoked,
       forbidden)
  5    network: cannot connect, or the connection dropped without a close
  130  interrupted (Ctrl-C)`

export type AuthMode = 'query' | 'header' | 'subprotocol' | 'message'
const AUTH_MODES: readonly AuthMode[] = ['query', 'header', 'subprotocol', 'message']

export type Credentials =
  | { readonly kind: 'token', readonly token: string }
  | { readonly kind: 'password', readonly username: string, readonly password: string }

export interface ClientOptions {
  readonly url: URL
  readonly tokenUrl: URL
  readonly auth: AuthMode
  readonly credentials: Credentials
  readonly lingerMs: number
  /** Close once every stdin line has its answer, instead of lingering. */
  readonly once: boolean
}

/** Bad arguments: exit 2 with the usage text. */
export class UsageError extends Error {
  override name = 'UsageError'
}

type Env = Readonly<Record<string, string | undefined>>

function parseUrl (value: string, what: string, schemes: readonly string[]): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // The value may hold a token in its query string, so it is not echoed.
    throw new UsageError(`${what} is not a valid URL`)
  }
  if (!schemes.includes(url.protocol)) throw new UsageError(`${what} must start with ${schemes.map((s) => `${s}//`).join(' or ')}`)
  return url
}

/** Addresses a server listens on that a client cannot connect to. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::', '[::]'])

/**
 * The URL when --url is not given: WSGATE_URL, else the server's own HOST and
 * PORT (with its defaults), so `PORT=8001 npm start` and `PORT=8001 npm run
 * client` meet without more typing.
 */
export function defaultUrl (env: Env): URL {
  const fromEnv = env.WSGATE_URL
  if (fromEnv !== undefined && fromEnv !== '') return parseUrl(fromEnv, 'WSGATE_URL', ['ws:', 'wss:'])
  const portText = env.PORT === undefined || env.PORT.trim() === '' ? '8000' : env.PORT.trim()
  const port = Number(portText)
  if (port === 0) throw new UsageError('PORT=0 lets the server pick its port: give --url or WSGATE_URL')
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('PORT must be a port number from 1 to 65535 (or give --url or WSGATE_URL)')
  const host = env.HOST?.trim() ?? ''
  const name = WILDCARD_HOSTS.has(host) ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return parseUrl(`ws://${name}:${port}/ws`, `HOST (${name})`, ['ws:'])
}

/** ws → http, wss → https, path /token: where the same server issues tokens. */
export function deriveTokenUrl (wsUrl: URL): URL {
  const url = new URL(wsUrl)
  url.protocol = wsUrl.protocol === 'wss:' ? 'https:' : 'http:'
  url.pathname = '/token'
  url.search = ''
  url.hash = ''
  return url
}

function credentials (values: { token?: string, username?: string, password?: string }, env: Env): Credentials {
  const { token, username, password } = values
  if (token !== undefined && username !== undefined) throw new UsageError('Give --token or --username, not both')
  if (password !== undefined && username === undefined) throw new UsageError('--password needs --username')
  if (username !== undefined) {
    const pw = password ?? env.WSGATE_PASSWORD
    if (pw === undefined || pw === '') throw new UsageError('--username needs --password or the WSGATE_PASSWORD variable')
    return { kind: 'password', username, password: pw }
  }
  const jwt = token ?? env.WSGATE_TOKEN
  if (jwt === undefined || jwt === '') throw new UsageError('Give --token (or WSGATE_TOKEN) or --username')
  return { kind: 'token', token: jwt }
}

export function parseClientArgs (argv: readonly string[], env: Env): ClientOptions | 'help' {
  let values
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        auth: { type: 'string', default: 'query' },
        'token-url': { type: 'string' },
        linger: { type: 'string' },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (err) {
    // A stray positional is often a token missing its --token, and parseArgs would quote it.
    if ((err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError('Unexpected argument: every value needs its option (--token <jwt>, ...)')
    }
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  if (values.help === true) return 'help'

  const auth = values.auth as AuthMode
  if (!AUTH_MODES.includes(auth)) throw new UsageError(`--auth must be one of ${AUTH_MODES.join(', ')}`)
  const once = values.once === true
  // --once closes as soon as the answers are in, so its linger is only a deadline and can be generous.
  const lingerMs = Number(values.linger ?? (once ? '10000' : '1000'))
  if (!Number.isInteger(lingerMs) || lingerMs < 0) throw new UsageError('--linger must be a whole number of milliseconds')
  const url = values.url === undefined ? defaultUrl(env) : parseUrl(values.url, '--url', ['ws:', 'wss:'])
  const tokenUrl = values['token-url'] === undefined
    ? deriveTokenUrl(url)
    : parseUrl(values['token-url'], '--token-url', ['http:', 'https:'])
  return { url, tokenUrl, auth, credentials: credentials(values, env), lingerMs, once }
}

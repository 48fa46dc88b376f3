import { createInterface } from 'node:readline'
import WebSocket, { type RawData } from 'ws'
import { BEARER_SUBPROTOCOL, ReservedType } from '../src/protocol/index.js'
import { parseClientArgs, USAGE, UsageError, type ClientOptions } from './lib/client-args.js'
import { describeNetworkError, frameFor, lineFor, printableUrl, redactor } from './lib/client-io.js'
import { login, LoginError } from './lib/client-login.js'

/**
 * A websocat-like client for wsgate:
 *   echo '{"type":"test"}' | npm run client -- --token "$TOKEN"
 * stdin lines go out, received messages come out on stdout one per line,
 * diagnostics go to stderr. Exit codes: 0 normal close, 1 failure or a close
 * other than 1000, 2 usage, 130 interrupted.
 */

/** How long a close handshake we started may take before the socket is dropped. */
const CLOSE_GRACE_MS = 2000

// Replaced with a masker as soon as the token is known, so no stderr line can carry it.
let redact = (text: string): string => text

function warn (message: string): void {
  process.stderr.write(`${redact(message)}\n`)
}

function textOf (data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** Whether a frame tells a pending socket that it may now send. */
function isAuthenticated (text: string): boolean {
  try {
    const type: unknown = (JSON.parse(text) as { type?: unknown }).type
    return type === ReservedType.authenticated || type === ReservedType.connectionEstablished
  } catch {
    return false
  }
}

function connect (options: ClientOptions, token: string): WebSocket {
  const url = new URL(options.url)
  if (options.auth === 'query') url.searchParams.set('token', token)
  const headers = options.auth === 'header' ? { authorization: `Bearer ${token}` } : undefined
  const protocols = options.auth === 'subprotocol' ? [BEARER_SUBPROTOCOL, token] : undefined
  return new WebSocket(url, protocols, { headers, handshakeTimeout: 30_000 })
}

/** Pumps stdin into the socket and the socket onto stdout; resolves with the exit code. */
async function session (options: ClientOptions, token: string): Promise<number> {
  const ws = connect(options, token)
  return await new Promise<number>((resolve) => {
    const queue: string[] = []
    let opened = false
    // With --auth message the server accepts nothing but `authenticate` until it answers.
    let ready = false
    let stdinEnded = false
    let closingByUs = false
    let interrupted = false
    let lingerTimer: NodeJS.Timeout | undefined

    const closeNormally = (): void => {
      if (closingByUs) return
      closingByUs = true
      ws.close(1000)
      setTimeout(() => { ws.terminate() }, CLOSE_GRACE_MS).unref()
    }

    const flush = (): void => {
      if (!ready) return
      for (const frame of queue.splice(0)) ws.send(frame)
      if (stdinEnded && lingerTimer === undefined) lingerTimer = setTimeout(closeNormally, options.lingerMs)
    }

    const becomeReady = (): void => {
      ready = true
      flush()
    }

    ws.on('open', () => {
      opened = true
      if (options.auth === 'message') ws.send(JSON.stringify({ type: ReservedType.authenticate, token }))
      else becomeReady()
    })

    ws.on('message', (data) => {
      const text = textOf(data)
      process.stdout.write(`${lineFor(text)}\n`)
      if (!ready && isAuthenticated(text)) becomeReady()
    })

    ws.on('error', (err) => {
      if (opened) {
        warn(`error: ${describeNetworkError(err)}`)
        return
      }
      if (!interrupted) warn(`cannot connect to ${printableUrl(options.url)}: ${describeNetworkError(err)}`)
      resolve(interrupted ? 130 : 1)
    })

    ws.on('close', (code, reason) => {
      if (!opened) return
      if (!closingByUs || code !== 1000) warn(`closed: ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`)
      resolve(interrupted ? 130 : code === 1000 ? 0 : 1)
    })

    const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
    rl.on('line', (line) => {
      const frame = frameFor(line)
      if (frame === undefined || closingByUs) return
      queue.push(frame)
      flush()
    })
    rl.on('close', () => {
      stdinEnded = true
      flush()
    })

    process.once('SIGINT', () => {
      interrupted = true
      if (opened) closeNormally()
      else ws.terminate()
    })
  })
}

async function main (argv: readonly string[]): Promise<number> {
  let options: ClientOptions
  try {
    const parsed = parseClientArgs(argv, process.env)
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`)
      return 0
    }
    options = parsed
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    warn(`${err.message}\n\n${USAGE}`)
    return 2
  }

  let token: string
  if (options.credentials.kind === 'token') {
    token = options.credentials.token
  } else {
    try {
      token = await login(options.tokenUrl, options.credentials.username, options.credentials.password)
    } catch (err) {
      if (!(err instanceof LoginError)) throw err
      warn(err.message)
      return 1
    }
  }
  redact = redactor(token)
  return await session(options, token)
}

/** Exits once stdout and stderr have drained: a pipe may still hold the last lines. */
async function exit (code: number): Promise<never> {
  const drained = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => { stream.write('', () => { resolve() }) })
  await Promise.all([drained(process.stdout), drained(process.stderr)])
  process.exit(code)
}

// A reader that went away (`| head -1`) is not an error worth a stack trace.
process.stdout.on('error', () => { process.exit(0) })

main(process.argv.slice(2)).then(exit, async (err: unknown) => {
  warn(`error: ${err instanceof Error ? err.message : String(err)}`)
  await exit(1)
})

import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { BEARER_SUBPROTOCOL, ReservedType } from '../src/protocol/index.js'
import { parseClientArgs, USAGE, UsageError, type ClientOptions } from './lib/client-args.js'
import { ExitCode, exitForClose, exitForConnectError, type ExitCodeValue } from './lib/client-exit.js'
import { describeNetworkError, frameFor, isAuthenticated, lineFor, printableUrl, redactor, textOf } from './lib/client-io.js'
import { login, LoginError } from './lib/client-login.js'
import { AwaitedAnswers } from './lib/client-once.js'

/**
 * A websocat-like client for wsgate:
 *   echo '{"type":"test"}' | npm run client -- --token "$TOKEN"
 * stdin lines go out, received messages come out on stdout one per line,
 * diagnostics go to stderr. Exit codes (ExitCode in lib/client-exit.ts):
 * 0 normal close, 1 other failure, 2 usage, 3 login refused, 4 token refused
 * by the socket, 5 network, 130 interrupted.
 */

/** How long a close handshake we started may take before the socket is dropped. */
const CLOSE_GRACE_MS = 2000

// Replaced with a masker as soon as the token is known, so no stderr line can carry it.
let redact = (text: string): string => text

function warn (message: string): void {
  process.stderr.write(`${redact(message)}\n`)
}

function connect (options: ClientOptions, token: string): WebSocket {
  const url = new URL(options.url)
  if (options.auth === 'query') url.searchParams.set('token', token)
  const headers = options.auth === 'header' ? { authorization: `Bearer ${token}` } : undefined
  const protocols = options.auth === 'subprotocol' ? [BEARER_SUBPROTOCOL, token] : undefined
  return new WebSocket(url, protocols, { headers, handshakeTimeout: 30_000 })
}

/** Pumps stdin into the socket and the socket onto stdout; resolves with the exit code. */
async function session (options: ClientOptions, token: string): Promise<ExitCodeValue> {
  const ws = connect(options, token)
  return await new Promise<ExitCodeValue>((resolve) => {
    const queue: string[] = []
    const answers = options.once ? new AwaitedAnswers() : undefined
    let opened = false
    let finished = false
    // With --auth message the server accepts nothing but `authenticate` until it answers.
    let ready = false
    let stdinEnded = false
    let closingByUs = false
    let interrupted = false
    let unanswered = 0
    let lingerTimer: NodeJS.Timeout | undefined

    const finish = (code: ExitCodeValue): void => {
      finished = true
      resolve(interrupted ? ExitCode.interrupted : code)
    }

    const closeNormally = (): void => {
      if (closingByUs) return
      closingByUs = true
      ws.close(1000)
      setTimeout(() => { ws.terminate() }, CLOSE_GRACE_MS).unref()
    }

    // --once: every line sent and answered; the linger timer is only its deadline.
    const closeIfAnswered = (): void => {
      if (answers !== undefined && stdinEnded && ready && queue.length === 0 && answers.waiting === 0) closeNormally()
    }

    const lingerOver = (): void => {
      unanswered = answers?.waiting ?? 0
      if (unanswered > 0) warn(`no answer to ${unanswered} line(s) within ${options.lingerMs} ms`)
      closeNormally()
    }

    const flush = (): void => {
      if (!ready) return
      for (const frame of queue.splice(0)) ws.send(frame)
      if (stdinEnded && lingerTimer === undefined) lingerTimer = setTimeout(lingerOver, options.lingerMs)
      closeIfAnswered()
    }

    ws.on('open', () => {
      opened = true
      if (options.auth === 'message') ws.send(JSON.stringify({ type: ReservedType.authenticate, token }))
      else ready = true
      flush()
    })

    ws.on('message', (data) => {
      const text = textOf(data)
      process.stdout.write(`${lineFor(text)}\n`)
      answers?.receive(text)
      if (!ready && isAuthenticated(text)) ready = true
      flush()
    })

    // Only when the handshake gets an HTTP answer instead of an upgrade (a cap, a proxy).
    ws.on('unexpected-response', (_request, response) => {
      warn(`cannot connect to ${printableUrl(options.url)}: HTTP ${response.statusCode ?? '?'}`)
      finish(exitForConnectError(undefined, response.statusCode))
      ws.terminate()
    })

    ws.on('error', (err) => {
      if (finished) return
      if (opened) {
        warn(`error: ${describeNetworkError(err)}`)
        return
      }
      if (!interrupted) warn(`cannot connect to ${printableUrl(options.url)}: ${describeNetworkError(err)}`)
      finish(exitForConnectError(err, undefined))
    })

    ws.on('close', (code, reason) => {
      if (!opened || finished) return
      if (closingByUs && code === 1000) {
        const refused = answers?.refused ?? 0
        if (refused > 0) warn(`${refused} line(s) refused with an error frame`)
        finish(refused > 0 || unanswered > 0 ? ExitCode.failure : ExitCode.ok)
        return
      }
      warn(`closed: ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`)
      finish(exitForClose(code, reason.toString()))
    })

    const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
    rl.on('line', (line) => {
      const frame = frameFor(line)
      if (frame === undefined || closingByUs) return
      queue.push(answers === undefined ? frame : answers.track(frame))
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
  // The same .env as the server, so that its PORT and HOST give the default URL; the environment wins.
  if (existsSync('.env')) process.loadEnvFile('.env')
  let options: ClientOptions
  try {
    const parsed = parseClientArgs(argv, process.env)
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`)
      return ExitCode.ok
    }
    options = parsed
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    warn(`${err.message}\n\n${USAGE}`)
    return ExitCode.usage
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
      return err.exitCode
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
  await exit(ExitCode.failure)
})

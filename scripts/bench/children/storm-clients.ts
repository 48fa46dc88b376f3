/**
 * Reconnect-storm clients: holds `count` sockets to one wsgate URL and, when
 * the server closes them, reconnects each as the SDK does (src/client): the
 * close code decides whether to retry (closeAction) and the delay is the
 * SDK's exponential backoff with full jitter (backoffDelay), reset once a
 * socket is back. Args: a JSON object on argv[2]. Prints `ready` once every
 * socket is open, then, after the storm, one JSON line of figures.
 */
import WebSocket from 'ws'
import { backoffDelay } from '../../../src/client/backoff.js'
import { closeAction } from '../../../src/client/codes.js'

interface Args {
  readonly url: string
  readonly count: number
  readonly concurrency: number
  readonly timeoutMs: number
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)

let open = 0
let firstCloseUs = 0
let lastBackUs = 0
let attempts = 0
let gaveUp = 0
const closes: Record<string, number> = {}
let storm = false

function connect (attempt: number, done: () => void): void {
  const ws = new WebSocket(args.url, { perMessageDeflate: false })
  let welcomed = false
  ws.on('message', (data) => {
    if (welcomed) return
    welcomed = true
    if (!String(data).includes('"connection_established"')) return
    open++
    if (storm) lastBackUs = nowUs()
    done()
  })
  ws.on('error', () => {})
  ws.on('close', (code, reason) => {
    if (welcomed) open--
    if (storm && firstCloseUs === 0) firstCloseUs = nowUs()
    const why = `${code} ${reason.toString()}`.trim()
    closes[why] = (closes[why] ?? 0) + 1
    if (!storm || closeAction(code, reason.toString()) !== 'reconnect') {
      gaveUp++
      return
    }
    // As the SDK counts: the attempt number resets once a socket is back.
    const n = welcomed ? 0 : attempt
    attempts++
    setTimeout(() => { connect(n + 1, () => { check() }) }, backoffDelay(n))
  })
}

function check (): void {
  if (open === args.count) {
    process.stdout.write(`${JSON.stringify({ open, firstCloseUs, lastBackUs, attempts, gaveUp, closes })}\n`)
    process.exit(0)
  }
}

// Open them all, `concurrency` at a time.
let started = 0
await new Promise<void>((resolve) => {
  const more = (): void => {
    if (open === args.count) {
      resolve()
      return
    }
    if (started < args.count) {
      started++
      connect(0, more)
    }
  }
  for (let i = 0; i < Math.min(args.concurrency, args.count); i++) more()
})
storm = true
process.stdout.write('ready\n')
setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ open, firstCloseUs, lastBackUs, attempts, gaveUp, closes, timedOut: true })}\n`)
  process.exit(0)
}, args.timeoutMs).unref()
// Keep the process alive while the sockets reconnect.
setInterval(() => {}, 1000)

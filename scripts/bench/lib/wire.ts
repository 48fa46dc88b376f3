/**
 * The bench's own messages and the two client framings (plain JSON over
 * `ws` for raw ws and wsgate; Socket.IO 4 / Engine.IO 4 packets for
 * Socket.IO). Receivers read the few fields they need straight from the
 * frame bytes, so the load generator spends its CPU on sockets, not on
 * JSON.parse; the first message of each socket is parsed whole and checked.
 */

export const BENCH_TYPE = 'bench'

/** Microseconds on CLOCK_MONOTONIC, which every process on the machine shares. */
export function nowUs (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * A bench message of exactly `size` bytes (when size allows): the channel
 * when it names one, phase, sequence number and send time, then padding.
 */
export function benchMessage (phase: number, seq: number, tUs: number, size: number, channel?: string): string {
  const target = channel === undefined ? '' : `"channel":${JSON.stringify(channel)},`
  const head = `{"type":"${BENCH_TYPE}",${target}"ph":${phase},"seq":${seq},"t":${tUs},"pad":"`
  const tail = '"}'
  const padLength = Math.max(0, size - head.length - tail.length)
  return head + 'x'.repeat(padLength) + tail
}

export interface BenchFields {
  readonly ph: number
  readonly seq: number
  readonly t: number
}

const TYPE_MARK = Buffer.from(`"type":"${BENCH_TYPE}"`)
const PH_KEY = Buffer.from('"ph":')
const SEQ_KEY = Buffer.from('"seq":')
const T_KEY = Buffer.from('"t":')

function intAfter (buf: Buffer, key: Buffer, from: number): number {
  const at = buf.indexOf(key, from)
  if (at < 0) return Number.NaN
  let i = at + key.length
  let n = 0
  let digits = 0
  for (; i < buf.length; i++) {
    const c = buf[i] as number
    if (c < 48 || c > 57) break
    n = n * 10 + (c - 48)
    digits++
  }
  return digits === 0 ? Number.NaN : n
}

/** Whether a frame is a bench message (cheap: no parse). */
export function isBenchFrame (buf: Buffer): boolean {
  return buf.indexOf(TYPE_MARK) >= 0
}

/** The offset wsgate's channel log appended last to a frame, or undefined. */
export function trailingOffset (text: string): number | undefined {
  const match = /"offset":(\d+)\}$/.exec(text)
  return match === null ? undefined : Number(match[1])
}

/**
 * The phase, sequence and send time of a stamped bench message, found by
 * key wherever the server put them; undefined for any other frame.
 */
export function readBenchFields (buf: Buffer): BenchFields | undefined {
  const at = buf.indexOf(TYPE_MARK)
  if (at < 0) return undefined
  const ph = intAfter(buf, PH_KEY, 0)
  const seq = intAfter(buf, SEQ_KEY, 0)
  const t = intAfter(buf, T_KEY, 0)
  if (Number.isNaN(ph) || Number.isNaN(seq) || Number.isNaN(t)) return undefined
  return { ph, seq, t }
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i

/**
 * What is wrong with a fanned-out bench message, or undefined when it carries
 * the sender's fields intact and the three server stamps; for a message sent
 * to `channel`, also that channel and an offset (wsgate's channel log moves
 * the channel to the end and appends the offset).
 */
export function stampProblem (message: unknown, expectedUser: string, size: number, channel?: string): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not a JSON object'
  const m = message as Record<string, unknown>
  if (m.type !== BENCH_TYPE) return `type is ${JSON.stringify(m.type)}`
  if (m.user !== expectedUser) return `user is ${JSON.stringify(m.user)}, expected ${JSON.stringify(expectedUser)}`
  if (typeof m.timestamp !== 'number' || Math.abs(m.timestamp * 1000 - Date.now()) > 60_000) {
    return `timestamp ${JSON.stringify(m.timestamp)} is not Unix seconds of now`
  }
  if (typeof m.requestId !== 'string' || !UUID_V4.test(m.requestId)) return `requestId ${JSON.stringify(m.requestId)} is not a UUID v4`
  if (typeof m.ph !== 'number' || typeof m.seq !== 'number' || typeof m.t !== 'number') return 'ph, seq or t missing'
  if (channel !== undefined) {
    if (m.channel !== channel) return `channel is ${JSON.stringify(m.channel)}, expected ${JSON.stringify(channel)}`
    if (typeof m.offset !== 'number' || !Number.isSafeInteger(m.offset) || m.offset < 1) return `offset ${JSON.stringify(m.offset)} is not a whole number from 1`
  }
  const sent = JSON.parse(benchMessage(m.ph, m.seq, m.t, size, channel)) as { pad: string }
  if (m.pad !== sent.pad) return 'payload was not passed through intact'
  return undefined
}

// --- Socket.IO 4 over a bare WebSocket (Engine.IO protocol 4) ---------------
// open "0{…}", ping "2" → pong "3", CONNECT "40{auth}", CONNECT_ERROR "44{…}",
// EVENT "42[name, data]", DISCONNECT "41".

export const SIO_EVENT = 'message'

export function sioPath (port: number): string {
  return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
}

export function sioConnectPacket (token: string): string {
  return `40${JSON.stringify({ token })}`
}

export function sioEventPacket (json: string): string {
  return `42["${SIO_EVENT}",${json}]`
}

export type SioPacket =
  | { readonly kind: 'open' }
  | { readonly kind: 'ping' }
  | { readonly kind: 'connected' }
  | { readonly kind: 'connect-error', readonly message: string }
  | { readonly kind: 'disconnect' }
  | { readonly kind: 'event', readonly name: string, readonly data: unknown }
  | { readonly kind: 'other', readonly text: string }

export function parseSioPacket (text: string): SioPacket {
  if (text.startsWith('0')) return { kind: 'open' }
  if (text === '2') return { kind: 'ping' }
  if (text.startsWith('40')) return { kind: 'connected' }
  if (text.startsWith('41')) return { kind: 'disconnect' }
  if (text.startsWith('44')) {
    let message = text.slice(2)
    try {
      const body = JSON.parse(message) as { message?: unknown }
      if (typeof body.message === 'string') message = body.message
    } catch { /* keep the raw text */ }
    return { kind: 'connect-error', message }
  }
  if (text.startsWith('42')) {
    try {
      const value = JSON.parse(text.slice(2)) as unknown
      if (Array.isArray(value) && typeof value[0] === 'string') return { kind: 'event', name: value[0], data: value[1] }
    } catch { /* fall through */ }
  }
  return { kind: 'other', text }
}

/**
 * A load-generator process, driven by the runner over IPC. It opens and
 * holds sockets, counts and times the bench messages they receive, publishes,
 * and hammers HTTP endpoints. Several run side by side; none shares a process
 * with a server.
 */
import http, { Agent } from 'node:http'
import WebSocket, { type RawData } from 'ws'
import type {
  CloseArgs, CloseResult, CollectArgs, CollectResult, ConnectArgs, ConnectResult, HttpArgs, HttpResult,
  PublishArgs, PublishResult, RequestMessage, RunnerToWorker, Target, TrackArgs, TrackResult, WorkerToRunner
} from '../lib/protocol.js'
import { recoverAll, subscribeAll, type ChannelSocket } from './channel-ops.js'
import { Histogram } from '../lib/stats.js'
import {
  benchMessage, nowUs, parseSioPacket, readBenchFields, sioConnectPacket, sioEventPacket, SIO_EVENT, stampProblem
} from '../lib/wire.js'

function post (message: WorkerToRunner): void {
  if (process.send === undefined) throw new Error('load.ts must be started with an IPC channel')
  process.send(message)
}

function toBuffer (data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

class BenchSocket implements ChannelSocket {
  ready = false
  closed = false
  closeReason = ''
  tracked = false
  count = 0
  /** The last seq seen in each lane. */
  lastSeq: number[] = [0]
  duplicates = 0
  checked = false
  readonly channels = new Set<string>()
  listener: ((buf: Buffer) => boolean) | undefined

  constructor (readonly ws: WebSocket, readonly target: Target, readonly group: string) {}

  /** Sends one message object serialized as JSON, framed for this server. */
  sendJson (json: string): void {
    this.ws.send(this.target.kind === 'sio' ? sioEventPacket(json) : json)
  }
}

const sockets = new Set<BenchSocket>()

// --- phase tracking ----------------------------------------------------------

let phase = -1
let phaseSize = 0
let phaseLanes = 1
let phaseChannel: string | undefined
let trackedCount = 0
let latency = new Histogram()
let invalid = 0
let firstProblem: string | undefined
let lastReceiveUs = 0
let closedDuring: Record<string, number> = {}
/** seq → tracked sockets that have it; a seq leaves once every socket has it. */
let pending = new Map<number, number>()
let completeAhead = new Set<number>()
let watermark = 0
let reportedWatermark = 0
let lastReportUs = 0
let flushTimer: NodeJS.Timeout | undefined

function reportWatermark (): void {
  if (watermark === reportedWatermark) return
  const now = nowUs()
  if (now - lastReportUs < 1000) {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined
      reportWatermark()
    }, 1)
    return
  }
  lastReportUs = now
  reportedWatermark = watermark
  post({ type: 'watermark', phase, value: watermark })
}

function complete (seq: number): void {
  completeAhead.add(seq)
  while (completeAhead.has(watermark + 1)) {
    completeAhead.delete(watermark + 1)
    watermark++
  }
  reportWatermark()
}

function onBenchFrame (sock: BenchSocket, buf: Buffer): void {
  const fields = readBenchFields(buf)
  if (fields === undefined || fields.ph !== phase || !sock.tracked) return
  const now = nowUs()
  if (!sock.checked) {
    sock.checked = true
    const problem = checkStamp(sock, buf)
    if (problem !== undefined) {
      invalid++
      firstProblem ??= problem
    }
  }
  const lane = fields.seq % phaseLanes
  if (fields.seq <= (sock.lastSeq[lane] ?? 0)) {
    sock.duplicates++
    return
  }
  sock.lastSeq[lane] = fields.seq
  sock.count++
  lastReceiveUs = now
  latency.record(now - fields.t)
  const have = (pending.get(fields.seq) ?? 0) + 1
  if (have >= trackedCount) {
    pending.delete(fields.seq)
    complete(fields.seq)
  } else {
    pending.set(fields.seq, have)
  }
}

function checkStamp (sock: BenchSocket, buf: Buffer): string | undefined {
  let message: unknown
  try {
    const text = buf.toString()
    if (sock.target.kind === 'sio') {
      const packet = parseSioPacket(text)
      message = packet.kind === 'event' ? packet.data : undefined
    } else {
      message = JSON.parse(text)
    }
  } catch {
    return 'frame is not JSON'
  }
  return stampProblem(message, sock.target.user, phaseSize, phaseChannel)
}

function track ({ phase: next, size, lanes = 1, channel }: TrackArgs): TrackResult {
  phase = next
  phaseSize = size
  phaseLanes = lanes
  phaseChannel = channel
  latency = new Histogram()
  invalid = 0
  firstProblem = undefined
  lastReceiveUs = 0
  closedDuring = {}
  pending = new Map()
  completeAhead = new Set()
  watermark = 0
  reportedWatermark = 0
  trackedCount = 0
  for (const sock of sockets) {
    sock.tracked = sock.ready && !sock.closed && (channel === undefined || sock.channels.has(channel))
    sock.count = 0
    sock.lastSeq = new Array<number>(lanes).fill(0)
    sock.duplicates = 0
    sock.checked = false
    if (sock.tracked) trackedCount++
  }
  return { tracked: trackedCount }
}

function collect ({ phase: which, sent }: CollectArgs): CollectResult {
  let received = 0
  let lost = 0
  let duplicates = 0
  let count = 0
  if (which === phase) {
    for (const sock of sockets) {
      if (!sock.tracked) continue
      count++
      received += sock.count
      duplicates += sock.duplicates
      lost += Math.max(0, sent - sock.count)
    }
  }
  return { sockets: count, received, lost, duplicates, invalid, firstProblem, latencyUs: latency.toJSON(), lastReceiveUs, closedDuring }
}

// --- sockets -----------------------------------------------------------------

type OpenOutcome = { ok: true } | { ok: false, reason: string }

function openOne (target: Target, group: string, timeoutMs: number): Promise<OpenOutcome> {
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: OpenOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const ws = new WebSocket(target.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs })
    const sock = new BenchSocket(ws, target, group)
    const timer = setTimeout(() => {
      finish({ ok: false, reason: 'timeout' })
      ws.terminate()
    }, timeoutMs)

    const becomeReady = (): void => {
      sock.ready = true
      sockets.add(sock)
      finish({ ok: true })
    }

    ws.on('message', (data: RawData) => {
      const buf = toBuffer(data)
      if (target.kind === 'ws') {
        if (sock.ready) {
          if (sock.listener?.(buf) === true) return
          onBenchFrame(sock, buf)
          return
        }
        try {
          const message = JSON.parse(buf.toString()) as { type?: unknown }
          if (message.type === 'connection_established') becomeReady()
        } catch { /* not for us */ }
        return
      }
      // Socket.IO: events start "42", pings are "2".
      if (sock.ready && buf[0] === 0x34 && buf[1] === 0x32) {
        onBenchFrame(sock, buf)
        return
      }
      const packet = parseSioPacket(buf.toString())
      switch (packet.kind) {
        case 'open': ws.send(sioConnectPacket(target.token)); break
        case 'ping': ws.send('3'); break
        case 'connect-error':
          finish({ ok: false, reason: `connect_error ${packet.message}` })
          ws.terminate()
          break
        case 'event': {
          const data = packet.data as { type?: unknown } | undefined
          if (!sock.ready && packet.name === SIO_EVENT && data?.type === 'connection_established') becomeReady()
          break
        }
        default: break
      }
    })
    ws.on('close', (code: number, reason: Buffer) => {
      const why = `close ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`
      sock.closed = true
      sock.closeReason = why
      if (sock.ready && sock.tracked) closedDuring[why] = (closedDuring[why] ?? 0) + 1
      sockets.delete(sock)
      finish({ ok: false, reason: why })
    })
    ws.on('error', (err: Error) => {
      finish({ ok: false, reason: err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'addr') })
    })
  })
}

async function connect ({ target, count, concurrency, group, timeoutMs }: ConnectArgs): Promise<ConnectResult> {
  const failures: Record<string, number> = {}
  let started = 0
  let done = 0
  let opened = 0
  const startUs = nowUs()
  let endUs = startUs
  if (count > 0) {
    await new Promise<void>((resolve) => {
      const launch = (): void => {
        while (started - done < concurrency && started < count) {
          started++
          void openOne(target, group, timeoutMs).then((outcome) => {
            done++
            if (outcome.ok) {
              opened++
              endUs = nowUs()
            } else {
              failures[outcome.reason] = (failures[outcome.reason] ?? 0) + 1
            }
            if (done === count) resolve()
            else launch()
          })
        }
      }
      launch()
    })
  }
  return { opened, failed: count - opened, startUs, endUs, failures, openNow: sockets.size }
}

async function close ({ group }: CloseArgs): Promise<CloseResult> {
  const targets = [...sockets].filter((sock) => group === undefined || sock.group === group)
  await Promise.all(targets.map(async (sock) => {
    sockets.delete(sock)
    if (sock.ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => {
      sock.ws.once('close', () => { resolve() })
      sock.ws.terminate()
    })
  }))
  return { closed: targets.length }
}

// --- publisher ---------------------------------------------------------------

let globalWatermark = 0
let pump: (() => void) | undefined

async function publish (args: PublishArgs): Promise<PublishResult> {
  const lanes = [...sockets].filter((s) => s.group === args.group && s.ready && !s.closed)
  if (lanes.length === 0) throw new Error(`no open socket in group "${args.group}" to publish from`)
  const anyClosed = (): boolean => lanes.some((s) => s.closed)
  globalWatermark = 0
  let sent = 0
  let ended = false
  const startUs = nowUs()
  const limit = args.count ?? Number.POSITIVE_INFINITY
  await new Promise<void>((resolve) => {
    const end = (): void => {
      clearTimeout(stop)
      ended = true
      pump = undefined
      resolve()
    }
    const stop = setTimeout(end, args.durationMs)
    stop.unref()
    const sendOne = (): void => {
      sent++
      lanes[sent % lanes.length]?.sendJson(benchMessage(args.phase, sent, nowUs(), args.size, args.channel))
      if (sent >= limit) end()
    }
    if (args.mode === 'window') {
      pump = () => {
        while (!ended && sent - globalWatermark < args.window && !anyClosed()) sendOne()
      }
      pump()
      return
    }
    const intervalUs = 1e6 / args.rate
    const tick = (): void => {
      if (ended || anyClosed()) return
      const due = Math.floor((nowUs() - startUs) / intervalUs) + 1
      while (!ended && sent < due) sendOne()
      const nextUs = startUs + sent * intervalUs
      setTimeout(tick, Math.max(0, (nextUs - nowUs()) / 1000))
    }
    tick()
  })
  return { sent, lanes: lanes.length, startUs, endUs: nowUs() }
}

// --- HTTP load ---------------------------------------------------------------

async function hammer ({ url, body, contentType, concurrency, durationMs }: HttpArgs): Promise<HttpResult> {
  const target = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const statuses: Record<string, number> = {}
  const latencyUs = new Histogram()
  let requests = 0
  const startUs = nowUs()
  const endAt = startUs + durationMs * 1000
  const once = (): Promise<string> => new Promise((resolve) => {
    const req = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: 'POST',
      agent,
      headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
    }, (res) => {
      res.resume()
      res.on('end', () => { resolve(String(res.statusCode ?? 0)) })
      res.on('error', () => { resolve('response error') })
    })
    req.on('error', (err) => { resolve(`error ${err.message}`) })
    req.end(body)
  })
  const loop = async (): Promise<void> => {
    while (nowUs() < endAt) {
      const t0 = nowUs()
      const status = await once()
      latencyUs.record(nowUs() - t0)
      statuses[status] = (statuses[status] ?? 0) + 1
      requests++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, async () => { await loop() }))
  const endUs = nowUs()
  agent.destroy()
  return { requests, statuses, startUs, endUs, latencyUs: latencyUs.toJSON() }
}

// --- dispatch ----------------------------------------------------------------

async function handle (message: RequestMessage): Promise<unknown> {
  switch (message.op) {
    case 'connect': return await connect(message.args)
    case 'close': return await close(message.args)
    case 'track': return track(message.args)
    case 'collect': return collect(message.args)
    case 'publish': return await publish(message.args)
    case 'http': return await hammer(message.args)
    case 'subscribe': return await subscribeAll(sockets, message.args)
    case 'recover': return await recoverAll(sockets, message.args)
  }
}

process.on('message', (raw: unknown) => {
  const message = raw as RunnerToWorker
  if (message.type === 'exit') {
    for (const sock of sockets) sock.ws.terminate()
    process.exit(0)
  }
  if (message.type === 'watermark') {
    if (message.value > globalWatermark) globalWatermark = message.value
    pump?.()
    return
  }
  handle(message).then((result) => {
    post({ type: 'reply', id: message.id, ok: true, result })
  }, (err: unknown) => {
    post({ type: 'reply', id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) })
  })
})
process.on('disconnect', () => { process.exit(0) })
post({ type: 'ready' })

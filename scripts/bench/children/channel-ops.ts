/**
 * The load generator's channel requests: `subscribe` (join channels and wait
 * for every `subscribed` reply) and `recover` (resubscribe with `recover`
 * and check the replay: the missed messages, each once, in offset order,
 * then `subscribed` with `recovered: true`). Both see a socket's frames
 * through its `listener` while they run, before the bench's own counting.
 */
import type { ChannelPositionJson, RecoverArgs, RecoverResult, SubscribeArgs, SubscribeResult } from '../lib/protocol.js'
import { isBenchFrame, nowUs, trailingOffset } from '../lib/wire.js'

export interface ChannelSocket {
  readonly group: string
  readonly ready: boolean
  readonly closed: boolean
  /** Channels the server confirmed with `subscribed`. */
  readonly channels: Set<string>
  /** Sees each frame first while set; returns true when it took the frame. */
  listener: ((buf: Buffer) => boolean) | undefined
  sendJson: (json: string) => void
}

type Reply = Record<string, unknown>

function parseReply (buf: Buffer): Reply | undefined {
  try {
    const value = JSON.parse(buf.toString()) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Reply : undefined
  } catch {
    return undefined
  }
}

function openOf (sockets: Iterable<ChannelSocket>, group: string): ChannelSocket[] {
  return [...sockets].filter((s) => s.group === group && s.ready && !s.closed)
}

function bump (counts: Record<string, number>, why: string): void {
  counts[why] = (counts[why] ?? 0) + 1
}

function position (reply: Reply): ChannelPositionJson | undefined {
  return typeof reply.offset === 'number' && typeof reply.epoch === 'string' ? { offset: reply.offset, epoch: reply.epoch } : undefined
}

let nextRequest = 0

/** Sends every subscribe of one socket at once; resolves when each has its reply, or at the deadline. */
async function subscribeOne (sock: ChannelSocket, channels: readonly string[], timeoutMs: number, failures: Record<string, number>, positions: Record<string, ChannelPositionJson>): Promise<number> {
  const waiting = new Map<string, string>()
  let ok = 0
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      for (let i = 0; i < waiting.size; i++) bump(failures, 'timeout')
      resolve()
    }, timeoutMs)
    sock.listener = (buf) => {
      if (isBenchFrame(buf)) return false
      const reply = parseReply(buf)
      const channel = typeof reply?.requestId === 'string' ? waiting.get(reply.requestId) : undefined
      if (reply === undefined || channel === undefined) return false
      waiting.delete(reply.requestId as string)
      if (reply.type === 'subscribed') {
        ok++
        sock.channels.add(channel)
        const at = position(reply)
        if (at !== undefined) positions[channel] = at
      } else {
        bump(failures, `${String(reply.type)} ${String(reply.code ?? '')}`.trim())
      }
      if (waiting.size === 0) {
        clearTimeout(timer)
        resolve()
      }
      return true
    }
    for (const channel of channels) {
      const requestId = `sub-${++nextRequest}`
      waiting.set(requestId, channel)
      sock.sendJson(JSON.stringify({ type: 'subscribe', channel, requestId }))
    }
    if (waiting.size === 0) {
      clearTimeout(timer)
      resolve()
    }
  })
  sock.listener = undefined
  return ok
}

/** The channels this worker's socket j joins: `every`, then its `perSocket` consecutive ones of `spread`. */
export function channelsOf (args: Pick<SubscribeArgs, 'every' | 'spread' | 'perSocket' | 'start'>, j: number): string[] {
  const mine = [...args.every]
  for (let k = 0; k < args.perSocket && args.spread.length > 0; k++) {
    const channel = args.spread[(args.start + j * args.perSocket + k) % args.spread.length] as string
    if (!mine.includes(channel)) mine.push(channel)
  }
  return mine
}

export async function subscribeAll (sockets: Iterable<ChannelSocket>, args: SubscribeArgs): Promise<SubscribeResult> {
  const group = openOf(sockets, args.group)
  const failures: Record<string, number> = {}
  const positions: Record<string, ChannelPositionJson> = {}
  const counts = await Promise.all(group.map(async (sock, j) => await subscribeOne(sock, channelsOf(args, j), args.timeoutMs, failures, positions)))
  return { sockets: group.length, subscribed: counts.reduce((a, b) => a + b, 0), failures, positions }
}

/** One socket's recovery: true when it got exactly the expected frames in order, then `recovered: true`. */
async function recoverOne (sock: ChannelSocket, args: RecoverArgs, failures: Record<string, number>, counted: { frames: number, endUs: number }): Promise<boolean> {
  let next = args.from.offset + 1
  let problem: string | undefined
  const outcome = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      problem ??= 'timeout'
      resolve(false)
    }, args.timeoutMs)
    sock.listener = (buf) => {
      if (isBenchFrame(buf)) {
        counted.frames++
        if (trailingOffset(buf.toString()) !== next) problem ??= 'a replayed message out of order or of another channel'
        next++
        return true
      }
      const reply = parseReply(buf)
      if (reply === undefined || reply.channel !== args.channel) return false
      if (reply.type !== 'subscribed' && reply.type !== 'error') return false
      clearTimeout(timer)
      counted.endUs = Math.max(counted.endUs, nowUs())
      if (reply.type === 'error') problem ??= `error ${String(reply.code)}`
      else if (reply.recovered !== true) problem ??= 'recovered: false'
      else if (next - 1 - args.from.offset !== args.expect) problem ??= `${next - 1 - args.from.offset} messages replayed, ${args.expect} expected`
      else sock.channels.add(args.channel)
      resolve(problem === undefined)
      return true
    }
    sock.sendJson(JSON.stringify({ type: 'subscribe', channel: args.channel, recover: args.from }))
  })
  sock.listener = undefined
  if (problem !== undefined) bump(failures, problem)
  return outcome
}

export async function recoverAll (sockets: Iterable<ChannelSocket>, args: RecoverArgs): Promise<RecoverResult> {
  const group = openOf(sockets, args.group)
  const failures: Record<string, number> = {}
  const startUs = nowUs()
  const counted = { frames: 0, endUs: startUs }
  const outcomes = await Promise.all(group.map(async (sock) => await recoverOne(sock, args, failures, counted)))
  return { sockets: group.length, recovered: outcomes.filter((ok) => ok).length, frames: counted.frames, failures, startUs, endUs: counted.endUs }
}

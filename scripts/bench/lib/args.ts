import { redactUrl } from '../../../src/config.js'

/**
 * Command line of `npm run bench`. Every size has a full default and a
 * `--quick` default; an explicit flag wins over both.
 */

export const CASES = ['handshake', 'fanout', 'fanout2', 'channels', 'memory', 'storm', 'token', 'reconnect'] as const
export type CaseName = (typeof CASES)[number]

export const SERVERS = ['raw', 'sio', 'wsgate'] as const
export type ServerName = (typeof SERVERS)[number]

export interface Options {
  readonly mode: 'bench' | 'soak'
  readonly quick: boolean
  /** Checks that the pipeline runs (test/bench does): tiny sizes, short phases, no settling pauses. */
  readonly smoke: boolean
  readonly cases: readonly CaseName[]
  readonly servers: readonly ServerName[]
  readonly rounds: number
  /** Handshake case: connections opened per round, and in flight at once. */
  readonly handshakes: number
  readonly concurrency: number
  /** Fan-out cases (fanout2 splits the subscribers over its two instances). */
  readonly subscribers: number
  readonly size: number
  readonly rate: number
  readonly window: number
  /** Length of each measured phase. */
  readonly seconds: number
  /** Memory case: socket counts measured in one process, ascending. */
  readonly memory: readonly number[]
  /** Login storm case. */
  readonly stormSockets: number
  readonly stormRate: number
  readonly stormConcurrency: number
  /** Reconnect storm: sockets on the wsgate that is restarted under them. */
  readonly reconnectSockets: number
  /** /token case. */
  readonly tokenConcurrency: number
  readonly bcryptCost: number
  /** Channels case: channels the subscribers are spread over (one of them is published to). */
  readonly channels: number
  /** Channels case: reconnecting clients that recover, and the messages each missed (at most 100, the history kept). */
  readonly recoverClients: number
  readonly recoverMessages: number
  /** The Redis fanout2's two wsgate instances share. */
  readonly redis: string
  /** Load-generator processes holding sockets. */
  readonly clients: number
  readonly out: string
  readonly build: boolean
  /** Run every server with node --cpu-prof and list where its time went. */
  readonly profile: boolean
  /** Extra environment for wsgate (KEY=VALUE, repeatable). */
  readonly env: Readonly<Record<string, string>>
  /** Soak. */
  readonly minutes: number
  readonly sockets: number
  readonly trickle: number
  readonly sampleSeconds: number
  readonly help: boolean
}

export class UsageError extends Error {
  override name = 'UsageError'
}

export const USAGE = `npm run bench [-- [soak] [options]]

Runs raw ws, Socket.IO and wsgate as separate processes and drives them from
separate load-generator processes over 127.0.0.1. Rounds are interleaved
(A B C A B C …); the table shows medians with min–max.

  --quick                 small sizes and 2 rounds: about a minute
  --smoke                 checks that the whole pipeline runs, in a second or two:
                          1 round, tiny sizes, 0.2 s phases, no settling pauses;
                          its figures mean nothing (channels only when --case names it)
  --case LIST             handshake,fanout,fanout2,channels,memory,storm,token,reconnect
                          (default: all; fanout2 and channels bring fanout along: they are
                          compared with it)
  --servers LIST          raw,sio,wsgate (default: all; fanout2, channels, storm, token and
                          reconnect are wsgate only)
  --rounds N              rounds per case (default 5, quick 2)
  --seconds S             length of each measured phase (default 4, quick 1; at least 1
                          except with --smoke)
  --handshakes N          connections opened per handshake round (default 5000, quick 2000)
  --concurrency N         handshakes in flight (default 200)
  --subscribers N         fan-out subscribers (default 1000)
  --size BYTES            published message size (default 256)
  --rate N                fan-out latency phase: messages/s (default 20)
  --window N              fan-out saturation phase: messages in flight (default 8)
  --channels N            channels case: channels the subscribers spread over (default 1000)
  --recover-clients N     channels case: reconnecting clients that recover (default 1000)
  --recover-messages N    channels case: messages each of them missed (default 100, at most 100)
  --memory LIST           idle socket counts for the memory case (default 5000,10000; quick 2000)
  --storm-sockets N       login storm subscribers (default 200)
  --storm-rate N          login storm messages/s (default 50)
  --storm-concurrency N   wrong-password requests in flight (default 16)
  --reconnect-sockets N   reconnect storm: sockets on the wsgate that is restarted
                          under them, reconnecting with the SDK's backoff and jitter
                          (default 5000, quick 2000)
  --redis URL             the Redis of fanout2's two wsgate instances, each run under a
                          key prefix of its own (default redis://127.0.0.1:6379)
  --token-concurrency N   login requests in flight (default 8)
  --bcrypt-cost N         cost wsgate hashes with (default 10, its default)
  --clients N             socket load-generator processes (default 2)
  --env KEY=VALUE         extra environment for wsgate (repeatable)
  --out DIR               results directory (default bench/results)
  --no-build              skip "npm run build" (use the existing dist/)
  --profile               run the servers under node --cpu-prof; profiles go to
                          <out>/profiles/<run>/ and their top self times are printed
                          (pick one case: --case fanout --servers wsgate --rounds 1 --profile)

soak: 10 000 idle authenticated sockets to wsgate plus a trickle of messages,
sampling heap and RSS; reports whether memory returns once the sockets close.
  --minutes M             trickle duration (default 2; 30 for the long run)
  --sockets N             idle sockets (default 10000)
  --trickle N             messages/s during the soak (default 2)
  --sample-seconds S      sampling period (default 5)
`

function positiveInt (flag: string, value: string, min = 1): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs a whole number ≥ ${min} (got "${value}")`)
  return n
}

function positiveNumber (flag: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a number > 0 (got "${value}")`)
  return n
}

function listOf<T extends string> (flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const aliases: Record<string, string> = { ws: 'raw', socketio: 'sio', 'socket.io': 'sio', handshakes: 'handshake', login: 'token', logins: 'token' }
  const out: T[] = []
  for (const item of items) {
    const name = aliases[item] ?? item
    if (!(allowed as readonly string[]).includes(name)) throw new UsageError(`${flag}: unknown "${item}" (one of ${allowed.join(', ')})`)
    if (!out.includes(name as T)) out.push(name as T)
  }
  if (out.length === 0) throw new UsageError(`${flag} needs at least one of ${allowed.join(', ')}`)
  return out
}

/** Flags that take a value; the rest are booleans. */
const VALUE_FLAGS = new Set([
  'case', 'cases', 'servers', 'server', 'rounds', 'seconds', 'handshakes', 'concurrency', 'subscribers', 'size', 'rate', 'window',
  'memory', 'redis', 'channels', 'recover-clients', 'recover-messages', 'reconnect-sockets', 'storm-sockets', 'storm-rate', 'storm-concurrency', 'token-concurrency', 'bcrypt-cost', 'clients', 'env', 'out',
  'minutes', 'sockets', 'trickle', 'sample-seconds'
])
const BOOLEAN_FLAGS = new Set(['quick', 'smoke', 'no-build', 'profile', 'help', 'h'])

export function parseArgs (argv: readonly string[]): Options {
  let mode: 'bench' | 'soak' = 'bench'
  const given = new Map<string, string>()
  const env: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('-')) {
      if (arg === 'soak' || arg === 'bench') {
        mode = arg
        continue
      }
      throw new UsageError(`unexpected argument "${arg}"`)
    }
    const eq = arg.indexOf('=')
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--?/, '')
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`)
      given.set(name, 'true')
      continue
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option --${name}`)
    let value: string
    if (eq >= 0) {
      value = arg.slice(eq + 1)
    } else {
      const next = argv[i + 1]
      if (next === undefined) throw new UsageError(`--${name} needs a value`)
      value = next
      i++
    }
    if (name === 'env') {
      const at = value.indexOf('=')
      if (at <= 0) throw new UsageError(`--env needs KEY=VALUE (got "${value}")`)
      env[value.slice(0, at)] = value.slice(at + 1)
      continue
    }
    given.set(name, value)
  }

  const quick = given.has('quick')
  const smoke = given.has('smoke')
  /** An explicit flag wins; then the --smoke size when there is one, then --quick's, then the full one. */
  const pick = <T>(name: string, parse: (flag: string, value: string) => T, full: T, fast: T, tiny: T = fast): T => {
    const value = given.get(name)
    return value === undefined ? (smoke ? tiny : quick ? fast : full) : parse(`--${name}`, value)
  }
  const int = (min = 1) => (flag: string, value: string) => positiveInt(flag, value, min)

  const caseValue = given.get('case') ?? given.get('cases')
  const serverValue = given.get('servers') ?? given.get('server')
  const cases = caseValue === undefined ? [...CASES] : listOf('--case', caseValue, CASES)
  // fanout2's figures are ratios to the one-instance fan-out of the same round.
  // Two wsgate starts of its own: a --smoke run takes it only when named.
  if (smoke && caseValue === undefined) cases.splice(cases.indexOf('channels'), 1)
  for (const compared of ['fanout2', 'channels'] as const) {
    if (cases.includes(compared) && !cases.includes('fanout')) cases.splice(cases.indexOf(compared), 0, 'fanout')
  }
  const redis = given.get('redis') ?? 'redis://127.0.0.1:6379'
  if (!/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis needs a redis:// or rediss:// URL (got "${redactUrl(redis)}")`)
  const memory = pick('memory', (flag, value) => value.split(',').map((v) => positiveInt(flag, v.trim())).sort((a, b) => a - b), [5000, 10000], [2000], [50])
  const recoverMessages = pick('recover-messages', int(), 100, 100, 5)
  if (recoverMessages > 100) throw new UsageError('--recover-messages must be at most 100: the channels case keeps 100 messages of history')
  const seconds = pick('seconds', positiveNumber, 4, 1, 0.2)
  if (seconds < 1 && !smoke) throw new UsageError('--seconds must be at least 1: CPU is read over windows of a second or more')

  return {
    mode,
    quick,
    smoke,
    cases,
    servers: serverValue === undefined ? [...SERVERS] : listOf('--servers', serverValue, SERVERS),
    rounds: pick('rounds', int(), 5, 2, 1),
    handshakes: pick('handshakes', int(), 5000, 2000, 20),
    concurrency: pick('concurrency', int(), 200, 200, 10),
    subscribers: pick('subscribers', int(), 1000, 1000, 10),
    size: pick('size', int(64), 256, 256),
    rate: pick('rate', positiveNumber, 20, 20),
    window: pick('window', int(), 8, 8),
    seconds,
    memory,
    stormSockets: pick('storm-sockets', int(), 200, 200, 10),
    stormRate: pick('storm-rate', positiveNumber, 50, 50),
    stormConcurrency: pick('storm-concurrency', int(), 16, 16),
    reconnectSockets: pick('reconnect-sockets', int(), 5000, 2000, 20),
    tokenConcurrency: pick('token-concurrency', int(), 8, 8, 2),
    bcryptCost: pick('bcrypt-cost', int(4), 10, 10),
    channels: pick('channels', int(2), 1000, 1000, 20),
    recoverClients: pick('recover-clients', int(), 1000, 1000, 10),
    recoverMessages,
    redis,
    clients: pick('clients', int(), 2, 2, 1),
    out: given.get('out') ?? 'bench/results',
    build: !given.has('no-build'),
    profile: given.has('profile'),
    env,
    minutes: pick('minutes', positiveNumber, 2, 2),
    sockets: pick('sockets', int(), 10000, 10000),
    trickle: pick('trickle', positiveNumber, 2, 2),
    sampleSeconds: pick('sample-seconds', positiveNumber, 5, 5),
    help: given.has('help') || given.has('h')
  }
}

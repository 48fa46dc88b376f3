import { existsSync, readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { cpuSeconds } from './proc.js'

/**
 * The CPU a Redis server has used, for the two-instance fan-out. Read from
 * `INFO cpu` (getrusage, to the microsecond; it works for a Redis in a
 * container or on another host too): Redis's share of a delivery is small,
 * and /proc's 10 ms ticks would round it to nothing over a short phase.
 * /proc/<pid>/stat is the fallback for a Redis whose INFO lacks the fields.
 */

/** `field:value` lines of an INFO reply → a map. */
export function parseInfo (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.indexOf(':')
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  return out
}

/** used_cpu_user + used_cpu_sys of an `INFO cpu` reply: every thread of the server, seconds. */
export function infoCpuSeconds (info: ReadonlyMap<string, string>): number {
  const user = Number(info.get('used_cpu_user'))
  const sys = Number(info.get('used_cpu_sys'))
  if (!Number.isFinite(user) || !Number.isFinite(sys)) throw new Error('INFO cpu has no used_cpu_user/used_cpu_sys')
  return user + sys
}

/** The pid when /proc/<pid> is this Redis (its command name says redis-server), else undefined. */
export function localRedisPid (pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}/stat`)) return undefined
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('redis-server') ? pid : undefined
  } catch {
    return undefined
  }
}

export class RedisMeter {
  private constructor (
    private readonly client: Redis,
    /** Redis's own pid as INFO server reports it. */
    readonly pid: number,
    /** Where the CPU is read: INFO cpu, or /proc of that pid. */
    readonly source: 'proc' | 'info'
  ) {}

  static async open (url: string): Promise<RedisMeter> {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false })
    // Without a listener a refused connection is also printed as an unhandled 'error' event.
    client.on('error', () => {})
    try {
      await client.connect()
      const pid = Number(parseInfo(await client.info('server')).get('process_id'))
      let source: 'info' | 'proc' = 'info'
      try {
        infoCpuSeconds(parseInfo(await client.info('cpu')))
      } catch (err) {
        if (localRedisPid(pid) === undefined) throw err
        source = 'proc'
      }
      return new RedisMeter(client, pid, source)
    } catch (err) {
      client.disconnect()
      throw err
    }
  }

  /** CPU seconds Redis has used so far. */
  async seconds (): Promise<number> {
    if (this.source === 'proc') return cpuSeconds(this.pid)
    return infoCpuSeconds(parseInfo(await this.client.info('cpu')))
  }

  /** Deletes every key under the prefix (what a round's instances left behind). */
  async deletePrefix (prefix: string): Promise<number> {
    let deleted = 0
    let cursor = '0'
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await this.client.del(...keys)
    } while (cursor !== '0')
    return deleted
  }

  close (): void {
    this.client.disconnect()
  }
}

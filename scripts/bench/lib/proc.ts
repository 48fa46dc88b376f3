import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * A process's CPU and memory as Linux reports them. `/proc/<pid>/stat` sums
 * every thread of the process (so bcrypt worker threads count), and its
 * cutime/cstime add children that were waited for.
 */

export interface CpuTicks {
  readonly utime: number
  readonly stime: number
  readonly cutime: number
  readonly cstime: number
}

/**
 * Fields 14–17 of /proc/<pid>/stat. The command name (field 2) is in
 * parentheses and may itself contain spaces and parentheses, so fields are
 * counted from the last ')'.
 */
export function parseProcStat (text: string): CpuTicks {
  const close = text.lastIndexOf(')')
  if (close < 0) throw new Error('malformed /proc stat: no ")"')
  // After ") " comes field 3 (state); utime is field 14, i.e. index 11 here.
  const fields = text.slice(close + 2).trim().split(/\s+/)
  const at = (i: number): number => {
    const value = Number(fields[i])
    if (!Number.isFinite(value)) throw new Error(`malformed /proc stat: field ${i + 3} is "${fields[i]}"`)
    return value
  }
  return { utime: at(11), stime: at(12), cutime: at(13), cstime: at(14) }
}

export interface MemoryStatus {
  /** Resident set size now, KiB. */
  readonly vmRssKb: number
  /** Peak resident set size, KiB. */
  readonly vmHwmKb: number
  readonly threads: number
}

/** VmRSS, VmHWM and Threads from /proc/<pid>/status. */
export function parseProcStatus (text: string): MemoryStatus {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)
    return match?.[1] === undefined ? Number.NaN : Number(match[1])
  }
  return { vmRssKb: field('VmRSS'), vmHwmKb: field('VmHWM'), threads: field('Threads') }
}

let ticksPerSecond: number | undefined

/** USER_HZ, the unit of the /proc CPU fields (100 on every common Linux). */
export function clockTicksPerSecond (): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

export function ticksToSeconds (ticks: CpuTicks, hz = clockTicksPerSecond()): number {
  return (ticks.utime + ticks.stime + ticks.cutime + ticks.cstime) / hz
}

/** Process CPU seconds so far: its own threads plus waited-for children. */
export function cpuSeconds (pid: number): number {
  return ticksToSeconds(parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')))
}

/** `syscw` of /proc/<pid>/io: write-family syscalls (write, writev, …) the process has made. */
export function parseProcIo (text: string): number {
  const match = /^syscw:\s*(\d+)$/m.exec(text)
  if (match?.[1] === undefined) throw new Error('malformed /proc io: no syscw')
  return Number(match[1])
}

/**
 * Write syscalls so far, or NaN when /proc/<pid>/io cannot be read (another
 * user's process). Fan-out CPU follows the number of writes: a socket corked
 * over a burst of broadcasts takes one write for all of them.
 */
export function writeSyscalls (pid: number): number {
  try {
    return parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8'))
  } catch {
    return Number.NaN
  }
}

export function memoryStatus (pid: number): MemoryStatus {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'))
}

export function rssKb (pid: number): number {
  return memoryStatus(pid).vmRssKb
}

/** The 1, 5 and 15 minute load averages, for the report's machine line. */
export function loadAverage (): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'n/a'
  }
}

/** CPU model name, for the report's machine line. */
export function cpuModel (): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    return match?.[1]?.trim() ?? 'unknown CPU'
  } catch {
    return 'unknown CPU'
  }
}

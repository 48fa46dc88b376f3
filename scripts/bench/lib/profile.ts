import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/**
 * Reads the .cpuprofile files `node --cpu-prof` writes (wsgate under
 * `--profile`) and lists where the self time went: the first place to look
 * when a figure misses its target.
 */

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface SelfTime {
  readonly name: string
  readonly ms: number
  /** Share of the non-idle time. */
  readonly share: number
}

function frameName (frame: CallFrame, repo: string): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName
  if (frame.url === '') return fn
  const path = frame.url.startsWith('file://') ? relative(repo, decodeURIComponent(frame.url.slice(7))) : frame.url
  return `${fn} ${path.replace(/^node_modules\//, '')}:${frame.lineNumber + 1}`
}

/** Self time per function (by name and place), largest first; idle time is left out. */
export function selfTimes (profile: CpuProfile, repo: string, top = 20): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const totals = new Map<string, number>()
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number)
    if (node === undefined) continue
    const us = profile.timeDeltas[i] ?? 0
    if (node.callFrame.functionName === '(idle)') continue
    const name = frameName(node.callFrame, repo)
    totals.set(name, (totals.get(name) ?? 0) + us)
    busy += us
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: busy === 0 ? 0 : us / busy }))
}

/** Where a frame's code lives: an npm package, a folder of the app, node itself, or V8. */
export function ownerOf (frame: CallFrame, repo: string): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  if (url.startsWith('node:')) return 'node core'
  const path = url.startsWith('file://') ? relative(repo, decodeURIComponent(url.slice(7))) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (pkg?.[1] !== undefined) {
    // The innermost package: @fastify/static/node_modules/glob counts as glob.
    const all = [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)]
    return all[all.length - 1]?.[1] ?? pkg[1]
  }
  const dir = /^(dist\/(?:src|bench)\/[^/]+)/.exec(path)
  return dir?.[1] ?? path
}

/** Self time by owner (package, app folder, node core, GC), largest first. */
export function selfTimeByOwner (profile: CpuProfile, repo: string, top = 12): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const totals = new Map<string, number>()
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number)
    if (node === undefined || node.callFrame.functionName === '(idle)') continue
    const us = profile.timeDeltas[i] ?? 0
    const owner = ownerOf(node.callFrame, repo)
    totals.set(owner, (totals.get(owner) ?? 0) + us)
    busy += us
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: busy === 0 ? 0 : us / busy }))
}

export function profileFiles (dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(dir, f))
  } catch {
    return []
  }
}

function lines (rows: readonly SelfTime[]): string {
  return rows.map((r) => `${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`).join('\n')
}

/** Self time by owner, then by function. Startup (module loading) is included: profile a long case. */
export function summarizeProfile (file: string, repo: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  return `by package or folder:\n${lines(selfTimeByOwner(profile, repo))}\nby function:\n${lines(selfTimes(profile, repo, top))}`
}

/** node --cpu-prof names files CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread. */
export function threadOf (file: string): string {
  const match = /\.(\d+)\.(\d+)\.(\d+)\.cpuprofile$/.exec(file)
  if (match === null) return 'thread ?'
  return match[2] === '0' ? `pid ${match[1]}, main thread` : `pid ${match[1]}, worker thread ${match[2]}`
}

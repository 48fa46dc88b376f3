import { readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from './cli.js'

/**
 * Readers for the deployment files, for test/deploy.test.ts: docker-compose.yml
 * as Compose sees it (merge keys, `${VAR…}` interpolation), the Dockerfile's
 * final stage, nginx directives and the README's tables.
 */

export const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

export type Obj = Record<string, unknown>
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
export const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} is not a mapping`)
  return v
}

/** docker-compose.yml with `<<: *anchor` merged, as Compose reads it. */
export function readCompose (): Obj {
  return obj(parse(read('docker-compose.yml'), { merge: true }), 'docker-compose.yml')
}

/** Compose accepts `environment` as a mapping or as a list of KEY=VALUE. */
export function envOf (svc: Obj): Record<string, string> {
  const env = svc.environment
  const out: Record<string, string> = {}
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item)
      const i = s.indexOf('=')
      if (i === -1) out[s] = ''
      else out[s.slice(0, i)] = s.slice(i + 1)
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? '' : String(v)
  }
  return out
}

/** Host and container ports a service publishes ("8000:8000", "127.0.0.1:8000:8000/tcp", { target, published }). */
export function publishedPorts (svc: Obj): Array<{ host: number | undefined, container: number }> {
  const ports = Array.isArray(svc.ports) ? svc.ports : []
  return ports.map((p) => {
    if (isObj(p)) return { host: p.published === undefined ? undefined : Number(p.published), container: Number(p.target) }
    const parts = String(p).split('/')[0]!.split(':')
    return { host: parts.length > 1 ? Number(parts[parts.length - 2]) : undefined, container: Number(parts[parts.length - 1]) }
  })
}

/** The variables a Compose value interpolates, with how: `${X:?msg}` required, `${X:-d}` defaulted. */
export function composeVariables (text: string): Map<string, { required: boolean, fallback: string | undefined }> {
  const out = new Map<string, { required: boolean, fallback: string | undefined }>()
  for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::?([?-])([^}]*))?\}/g)) {
    out.set(m[1]!, { required: m[2] === '?', fallback: m[2] === '-' ? m[3] : undefined })
  }
  return out
}

/** Compose's interpolation of one value: `${X}`, `${X:-default}`, `${X-default}`, `${X:?error}`, `$$`. */
export function interpolate (value: string, vars: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([?-])([^}]*))?\}/g, (whole, name: string | undefined, colon: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$'
    const v = vars[name!]
    const missing = v === undefined || (colon === ':' && v === '')
    if (op === '?' && missing) throw new Error(`required variable ${name!} is missing a value: ${arg ?? ''}`)
    if (op === '-' && missing) return arg ?? ''
    return v ?? ''
  })
}

/** Dockerfile instructions of the final stage, with line continuations joined. */
export function finalStage (text: string): Array<{ op: string, args: string }> {
  const joined = text.replace(/\\\r?\n/g, ' ')
  const lines = joined.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const instructions = lines.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!
    return { op: m[1]!.toUpperCase(), args: m[2]! }
  })
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM')
  return instructions.slice(lastFrom)
}

/** The KEY=VALUE pairs of a stage's ENV lines. */
export function stageEnv (stage: ReadonlyArray<{ op: string, args: string }>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const i of stage.filter((i) => i.op === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S*)/g)) out[m[1]!] = m[2]!
  }
  return out
}

/** Exec form (JSON array) or shell form, as argv. */
export function argv (args: string): string[] {
  const trimmed = args.trim()
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[]
  return trimmed.split(/\s+/)
}

/** tsconfig "extends" chain, resolving outDir/rootDir relative to the file that sets them. */
export function tsOptions (file: string): { outDir?: string, rootDir?: string } {
  const text = read(file).replace(/^\s*\/\/.*$/gm, '')
  const json = JSON.parse(text) as { extends?: string, compilerOptions?: { outDir?: string, rootDir?: string } }
  const base = json.extends !== undefined ? tsOptions(posix.join(posix.dirname(file), json.extends)) : {}
  const here = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : posix.normalize(posix.join(posix.dirname(file), p))
  return {
    outDir: here(json.compilerOptions?.outDir) ?? base.outDir,
    rootDir: here(json.compilerOptions?.rootDir) ?? base.rootDir
  }
}

/** nginx directives named `name`, their arguments as one string each; comments dropped. */
export function nginxDirectives (conf: string, name: string): string[] {
  const text = conf.replace(/#.*$/gm, '')
  return [...text.matchAll(new RegExp(`(?:^|[;{}\\s])${name}\\s+([^;{]*)[;{]`, 'g'))].map((m) => m[1]!.trim().replace(/\s+/g, ' '))
}

/** A level-2 section of a Markdown file, from its heading to the next one. */
export function markdownSection (text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`no "## ${heading}" section`)
  const next = text.indexOf('\n## ', start + 1)
  return text.slice(start, next === -1 ? undefined : next)
}

/** The rows (cells, trimmed) of the first Markdown table after the line that contains `marker`. */
export function tableAfter (text: string, marker: string): string[][] {
  const lines = text.split('\n')
  const at = lines.findIndex((l) => l.includes(marker))
  if (at === -1) throw new Error(`no line with "${marker}"`)
  const first = lines.findIndex((l, i) => i > at && l.startsWith('|'))
  const rows: string[][] = []
  for (let i = first; i >= 0 && i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split('|').slice(1, -1).map((c) => c.trim())
    if (!cells.every((c) => /^:?-+:?$/.test(c))) rows.push(cells)
  }
  return rows.slice(1)
}

/** `name` words in backticks. */
export const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)

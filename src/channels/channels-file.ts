import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { DEFAULT_HISTORY, type HistoryOptions } from './history.js'
import { RESERVED_NAMESPACES, openNamespace, type NamespaceOptions, type PublishRule, type SubscribeRule } from './namespaces.js'

/** A CHANNELS_FILE that cannot be used; the message is one line naming the file and every problem. */
export class ChannelsFileError extends Error {
  override name = 'ChannelsFileError'

  constructor (readonly path: string, readonly problems: readonly string[]) {
    super(`Invalid CHANNELS_FILE ${path}: ${problems.join('; ')}`)
  }
}

const NAMESPACE_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/
/** The same rule as an account's roles (src/admin/accounts.ts), so every role a user can hold can be named. */
const ROLE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/
const OPTION_KEYS = ['subscribe', 'publish', 'presence', 'joinLeave', 'history'] as const
const HISTORY_KEYS = ['size', 'ttlSeconds'] as const
export const MAX_HISTORY_SIZE = 10_000
export const MAX_HISTORY_TTL_SECONDS = 7 * 24 * 3600

type Fields = Record<string, unknown>

const isMapping = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A value quoted for an error message, never long. */
function shown (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** Collects every problem of one file, so an operator fixes them all in one go. */
class Checker {
  readonly problems: string[] = []

  unknownKeys (where: string, value: Fields, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.problems.push(`${where}: unknown key ${shown(key)} (expected ${allowed.join(', ')})`)
    }
  }

  rule<R extends string> (where: string, value: unknown, words: readonly string[], fallback: R): R {
    if (value === undefined) return fallback
    if (typeof value === 'string') {
      if (words.includes(value)) return value as R
      const role = value.startsWith('role:') ? value.slice('role:'.length) : undefined
      if (role !== undefined && ROLE_PATTERN.test(role)) return value as R
    }
    this.problems.push(`${where} must be ${words.join(', ')} or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got ${shown(value)})`)
    return fallback
  }

  bool (where: string, value: unknown): boolean {
    if (value === undefined) return false
    if (typeof value === 'boolean') return value
    this.problems.push(`${where} must be true or false (got ${shown(value)})`)
    return false
  }

  int (where: string, value: unknown, min: number, max: number, fallback: number): number {
    if (value === undefined) return fallback
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value
    this.problems.push(`${where} must be a whole number from ${min} to ${max} (got ${shown(value)})`)
    return fallback
  }

  history (where: string, value: unknown): HistoryOptions {
    if (value === undefined) return DEFAULT_HISTORY
    if (!isMapping(value)) {
      this.problems.push(`${where} must be a mapping with size and ttlSeconds (got ${shown(value)})`)
      return DEFAULT_HISTORY
    }
    this.unknownKeys(where, value, HISTORY_KEYS)
    return {
      size: this.int(`${where}.size`, value.size, 0, MAX_HISTORY_SIZE, DEFAULT_HISTORY.size),
      ttlSeconds: this.int(`${where}.ttlSeconds`, value.ttlSeconds, 1, MAX_HISTORY_TTL_SECONDS, DEFAULT_HISTORY.ttlSeconds)
    }
  }

  namespace (name: string, value: unknown): NamespaceOptions | undefined {
    const where = `namespaces.${name}`
    if (RESERVED_NAMESPACES.includes(name)) {
      this.problems.push(`${where}: "${name}" is built in and cannot be configured (reserved: ${RESERVED_NAMESPACES.join(', ')})`)
      return undefined
    }
    if (!NAMESPACE_PATTERN.test(name)) {
      this.problems.push(`namespaces: ${shown(name)} is not a namespace name (1-64 of A-Z a-z 0-9 _ . @ -)`)
      return undefined
    }
    // `chat:` with nothing under it is a namespace with every default.
    const fields = value ?? {}
    if (!isMapping(fields)) {
      this.problems.push(`${where} must be a mapping of options (got ${shown(value)})`)
      return undefined
    }
    this.unknownKeys(where, fields, OPTION_KEYS)
    const open = openNamespace(name)
    return Object.freeze({
      name,
      subscribe: this.rule<SubscribeRule>(`${where}.subscribe`, fields.subscribe, ['anyone', 'server'], open.subscribe),
      publish: this.rule<PublishRule>(`${where}.publish`, fields.publish, ['subscribers', 'anyone', 'server'], open.publish),
      presence: this.bool(`${where}.presence`, fields.presence),
      joinLeave: this.bool(`${where}.joinLeave`, fields.joinLeave),
      history: Object.freeze(this.history(`${where}.history`, fields.history))
    })
  }
}

/**
 * The namespaces a parsed file declares (`default` included when it is
 * there), or the list of everything wrong with it.
 */
export function validateChannels (value: unknown): Map<string, NamespaceOptions> | string[] {
  const checker = new Checker()
  if (!isMapping(value)) return [`the file must be a mapping with a "namespaces" key (got ${value === null || value === undefined ? 'an empty file' : shown(value)})`]
  checker.unknownKeys('the file', value, ['namespaces'])
  const { namespaces } = value
  if (!isMapping(namespaces)) {
    checker.problems.push(`namespaces must be a mapping of namespace names to options (got ${namespaces === undefined ? 'nothing' : shown(namespaces)})`)
    return checker.problems
  }
  const result = new Map<string, NamespaceOptions>()
  for (const [name, options] of Object.entries(namespaces)) {
    const checked = checker.namespace(name, options)
    if (checked !== undefined) result.set(name, checked)
  }
  return checker.problems.length > 0 ? checker.problems : result
}

/** JSON for `.json`, YAML otherwise (YAML reads JSON too, so a JSON file under another name works). */
export function parseChannelsText (text: string, path: string): unknown {
  if (extname(path).toLowerCase() === '.json') {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new ChannelsFileError(path, [`not valid JSON: ${(err as Error).message}`])
    }
  }
  try {
    return parseYaml(text)
  } catch (err) {
    // yaml's messages end with a multi-line excerpt of the file; the first line says what and where.
    throw new ChannelsFileError(path, [`not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`])
  }
}

/** Reads, parses and validates a CHANNELS_FILE; throws ChannelsFileError for anything wrong. */
export function loadChannelsFile (path: string): Map<string, NamespaceOptions> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ChannelsFileError(path, [`cannot be read (${code ?? (err as Error).message})`])
  }
  const checked = validateChannels(parseChannelsText(text, path))
  if (Array.isArray(checked)) throw new ChannelsFileError(path, checked)
  return checked
}

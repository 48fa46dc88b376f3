import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What `npm run build` emits that tests start as child processes. */
export type CompiledFile = 'dist/src/server.js' | 'dist/scripts/users.js' | 'dist/scripts/client.js' | 'dist/scripts/db-copy.js'

function newestFile (dir: string, pattern: RegExp): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && pattern.test(entry.name)) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * When the last `npm run build` finished: its last step touches dist/.built.
 * Not the compiled file's own mtime (tsc rewrites only the outputs whose
 * source changed), nor the pages' (the web tests rebuild those alone).
 */
function lastBuild (): number {
  try {
    return statSync(join(ROOT, 'dist', '.built')).mtimeMs
  } catch {
    return 0
  }
}

/**
 * The absolute path of a compiled entry point, for a child started with
 * plain `node` (a fraction of the cost of one started through tsx; see
 * NodeChild in test/scripts/child.ts for how to keep tap's loader out of it).
 * Refuses a build older than the sources, so a test never passes against
 * yesterday's code.
 */
export function compiled (file: CompiledFile): string {
  const path = join(ROOT, file)
  const built = lastBuild()
  try {
    statSync(path)
  } catch {
    throw new Error(`${path} is missing: run \`npm run build\` first (\`npm test\` does it for you)`)
  }
  const sources = Math.max(
    newestFile(join(ROOT, 'src'), /\.(ts|mjs)$/),
    newestFile(join(ROOT, 'scripts', 'lib'), /\.ts$/),
    ...['users.ts', 'client.ts', 'db-copy.ts'].map((name) => statSync(join(ROOT, 'scripts', name)).mtimeMs)
  )
  if (sources > built) throw new Error(`${path} is older than the sources: run \`npm run build\` first (\`npm test\` does it for you)`)
  return path
}

/** The environment for a child process without tap's loaders (NODE_OPTIONS, TAP_*), which would wrap and slow it. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !/^_?TAP/.test(key)))
  return { ...env, ...extra }
}

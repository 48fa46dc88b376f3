import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

function newestSource (dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * The compiled CLI (`dist/scripts/<name>.js`) that `npm test` builds first:
 * a child started from JavaScript costs a fraction of one started through
 * tsx. Refuses a build older than the sources, so a test never passes
 * against yesterday's code.
 */
export function compiledScript (name: 'users' | 'client'): string {
  const file = join(ROOT, 'dist', 'scripts', `${name}.js`)
  let built: number
  try {
    built = statSync(file).mtimeMs
  } catch {
    throw new Error(`${file} is missing: run \`npm run build\` first (\`npm test\` does it for you)`)
  }
  const source = Math.max(newestSource(join(ROOT, 'src')), newestSource(join(ROOT, 'scripts', 'lib')), statSync(join(ROOT, 'scripts', `${name}.ts`)).mtimeMs)
  if (source > built) throw new Error(`${file} is older than the sources: run \`npm run build\` first (\`npm test\` does it for you)`)
  return file
}

/** The environment for a child process without tap's loaders (NODE_OPTIONS, TAP_*), which would wrap and slow it. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !/^_?TAP/.test(key)))
  return { ...env, ...extra }
}

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The folder holding wsgate's package.json, found by walking up from this
 * file: the same answer from src/web under tsx and from dist/src/web after
 * tsc, and from /app in the Docker image.
 */
export function packageRoot (from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }
        if (name === 'wsgate-server') return dir
      } catch {
        // A broken manifest above us is not ours; keep looking.
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no wsgate package.json above ${fileURLToPath(from)}`)
    dir = parent
  }
}

export function packageVersion (): string {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }
  return typeof version === 'string' ? version : '0.0.0'
}

/** Where scripts/build-web.mjs writes the pages. */
export function webRoot (): string {
  return join(packageRoot(), 'dist', 'web')
}

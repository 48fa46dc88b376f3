import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Plugin } from 'esbuild'
import { ROOT } from './browser.js'

/**
 * The two Reacts the hook is tested on. React 18 is the repo's own, at the
 * top of node_modules, where tap's reporter needs it; React 19 is a project of
 * its own in test/react19, which scripts/test-setup.mjs installs (`npm ci`
 * there) before the tests run.
 */
export const REACTS = {
  18: join(ROOT, 'node_modules'),
  19: join(ROOT, 'test', 'react19', 'node_modules')
} as const

export type ReactMajor = keyof typeof REACTS

/** Why React `major` cannot be used, or undefined when it can. */
export function reactMissing (major: ReactMajor): string | undefined {
  const manifest = join(REACTS[major], 'react-dom', 'package.json')
  if (!existsSync(manifest)) return `${manifest} is missing: run \`npm ci --prefix test/react19\` (npm test does it first)`
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }
  return version.startsWith(`${major}.`) ? undefined : `react-dom ${version} in ${REACTS[major]} is not React ${major}`
}

/**
 * An esbuild plugin that resolves every `react`, `react-dom` and
 * `scheduler` import, the bundled SDK's included, from one React's
 * node_modules, so a bundle never mixes two Reacts.
 */
export function bindReact (major: ReactMajor): Plugin {
  const dir = REACTS[major]
  return {
    name: `react-${major}`,
    setup (build) {
      build.onResolve({ filter: /^(react|react-dom|scheduler)(\/.*)?$/ }, async (args) => {
        if (args.pluginData === dir) return undefined
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: dirname(dir), pluginData: dir })
        return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path }
      })
    }
  }
}

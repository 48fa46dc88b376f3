import { join } from 'node:path'
import { build } from 'esbuild'

/**
 * The reference servers and load generators run as plain `node x.mjs`, like
 * wsgate's compiled dist: no TypeScript loader (tsx would start an esbuild
 * service as a child of the measured process) and no startup difference.
 * Packages stay external and resolve from the repo's node_modules.
 */
export const CHILDREN = {
  'raw-ws-server': 'raw-ws-server.ts',
  'socketio-server': 'socketio-server.ts',
  load: 'load.ts',
  'bcrypt-time': 'bcrypt-time.ts',
  'storm-clients': 'storm-clients.ts',
  'loop-probe': 'loop-probe.ts'
} as const

export type ChildName = keyof typeof CHILDREN

export async function compileChildren (repo: string, outDir: string): Promise<Record<ChildName, string>> {
  const source = join(repo, 'scripts', 'bench', 'children')
  const entryPoints = Object.fromEntries(Object.entries(CHILDREN).map(([name, file]) => [name, join(source, file)]))
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    logLevel: 'warning'
  })
  const out = {} as Record<ChildName, string>
  for (const name of Object.keys(CHILDREN) as ChildName[]) out[name] = join(outDir, `${name}.mjs`)
  return out
}

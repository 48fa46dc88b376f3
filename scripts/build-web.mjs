#!/usr/bin/env node
// Builds the pages in src/web into dist/web: the TypeScript entries bundled by
// esbuild (platform browser, so a Node import fails the build instead of the
// page), HTML and the favicon copied. No CDN and no inline script: the app
// sends helmet's CSP, `script-src 'self'`.
import { build } from 'esbuild'
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src', 'web')
const out = join(root, 'dist', 'web')
// Built aside, then moved in file by file (rename replaces atomically), so a
// server or a test reading dist/web meanwhile never sees it missing or half written.
const tmp = `${out}.tmp-${process.pid}`

const copies = ['index.html', 'admin/index.html', 'favicon.svg']

async function filesUnder (dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
}

try {
  await rm(tmp, { recursive: true, force: true })
  const result = await build({
    absWorkingDir: root,
    entryPoints: {
      'assets/test-page': join(src, 'test-page.ts'),
      'assets/admin': join(src, 'admin', 'admin.ts'),
      'assets/style': join(src, 'style.css')
    },
    outdir: tmp,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning'
  })
  for (const file of copies) {
    await mkdir(dirname(join(tmp, file)), { recursive: true })
    await copyFile(join(src, file), join(tmp, file))
  }
  const fresh = new Set(await filesUnder(tmp))
  for (const file of fresh) {
    await mkdir(dirname(join(out, file)), { recursive: true })
    await rename(join(tmp, file), join(out, file))
  }
  for (const file of await filesUnder(out)) if (!fresh.has(file)) await rm(join(out, file))
  await rm(tmp, { recursive: true, force: true })
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'))
  for (const [file, { bytes }] of outputs) console.log(`  ${relative(root, file).replace(relative(root, tmp), relative(root, out))}  ${(bytes / 1024).toFixed(1)} KiB`)
  console.log(`web pages built into ${relative(root, out)}/`)
} catch (err) {
  await rm(tmp, { recursive: true, force: true })
  console.error(`web build failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
}

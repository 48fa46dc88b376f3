// A fresh `npm install` ships tap's default plugin set, which includes
// @tapjs/typescript (ts-node, broken under TypeScript 7). tap would rebuild
// from .taprc on its first run but still load the old set for that run, so
// every test would fail once. Rebuild up front, and only when needed (~15 s).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

const built = 'node_modules/@tapjs/test/test-built/dist/esm/index.js'
if (existsSync(built) && readFileSync(built, 'utf8').includes('@tapjs/typescript')) {
  process.stderr.write('rebuilding tap without @tapjs/typescript (first run after install)\n')
  execFileSync(process.execPath, ['node_modules/tap/dist/esm/run.mjs', 'build'], { stdio: 'inherit' })
}

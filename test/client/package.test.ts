import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build as bundle } from 'esbuild'
import t from 'tap'
import { build, tempDir } from '../helper.js'
import { chromiumMissing, launch, openPage, ROOT } from '../web/browser.js'
import { scratchFiles } from './package-app.js'

/*
 * The SDK as another project gets it: `npm pack`, the tarball in a scratch
 * project, an app importing `wsgate/client` and `wsgate/react` typechecked,
 * run in Node against a live server, bundled for the browser and run in
 * Chromium, and the client's size budget.
 *
 * The tarball is unpacked into the scratch node_modules by hand instead of
 * `npm install <tarball>`: npm would resolve the package's dependencies (the
 * server's: fastify, better-sqlite3…) over the network, and the test must run
 * offline. React, react-dom, ws and their types are linked from this repo,
 * as an app's own dependencies would be.
 */

t.setTimeout(90_000)

const run = promisify(execFile)
const CLIENT_BUDGET_BYTES = 8 * 1024
const LINKED = ['react', 'react-dom', 'ws', '@types/react', '@types/react-dom', '@types/ws', '@types/node', 'undici-types']

/** The tarball packs dist/: a source newer than its build would test old code. */
function staleBuild (): string | undefined {
  for (const dir of ['client', 'protocol']) {
    for (const file of readdirSync(join(ROOT, 'src', dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
      const built = join(ROOT, 'dist', 'src', dir, file.replace(/\.ts$/, '.js'))
      let builtAt: number
      try { builtAt = statSync(built).mtimeMs } catch { return `${built} is missing: run \`npm run build\`` }
      if (statSync(join(ROOT, 'src', dir, file)).mtimeMs > builtAt) return `src/${dir}/${file} is newer than its build: run \`npm run build\``
    }
  }
  return undefined
}

async function gzippedBundle (scratch: string, contents: string, external: string[] = []): Promise<number> {
  const result = await bundle({
    stdin: { contents, resolveDir: scratch, loader: 'ts' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, external, logLevel: 'silent'
  })
  return gzipSync(result.outputFiles[0]?.contents ?? new Uint8Array(), { level: 9 }).length
}

const stale = staleBuild()
if (stale !== undefined) throw new Error(stale)
const missing = chromiumMissing()
if (missing !== undefined) throw new Error(missing)

const scratch = tempDir(t)
const { stdout: packed } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT })
const [tarball] = JSON.parse(packed) as Array<{ filename: string, files: Array<{ path: string }> }>
if (tarball === undefined) throw new Error(`npm pack said nothing: ${packed}`)
const installed = join(scratch, 'node_modules', 'wsgate')
mkdirSync(installed, { recursive: true })
await run('tar', ['-xzf', join(scratch, tarball.filename), '--strip-components=1', '-C', installed])
for (const name of LINKED) {
  mkdirSync(dirname(join(scratch, 'node_modules', name)), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules', name), join(scratch, 'node_modules', name))
}
for (const [file, text] of Object.entries(scratchFiles)) {
  mkdirSync(dirname(join(scratch, file)), { recursive: true })
  writeFileSync(join(scratch, file), text)
}

t.test('the tarball holds the two entries with their types, and no server', async (t) => {
  const paths = tarball.files.map((f) => f.path)
  for (const file of ['dist/src/client/index.js', 'dist/src/client/index.d.ts', 'dist/src/client/react-entry.js', 'dist/src/client/react-entry.d.ts', 'dist/src/protocol/index.js']) {
    t.ok(paths.includes(file), file)
  }
  t.notOk(paths.some((p) => p.startsWith('dist/src/realtime') || p === 'dist/src/server.js'), 'the server is not shipped')
})

t.test('an app using both entry points typechecks with the installed types', async (t) => {
  // lib/tsc.js, not the extensionless bin: under tap's process tracking Node loads that one through require() and fails.
  const result = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'lib', 'tsc.js'), '-p', 'tsconfig.json'], { cwd: scratch })
    .then(({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }))
    .catch((err: { code?: number, stdout?: string, stderr?: string }) => ({ code: err.code ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }))
  t.same(result, { code: 0, output: '' }, 'tsc exits 0 and reports nothing')
  t.ok(statSync(join(scratch, 'out', 'node.js')).isFile(), 'and emits the app')
})

const built = await build(t)

t.test('the app runs in Node: login, connect, echo, and the hook server-rendered', async (t) => {
  const { stdout } = await run(process.execPath, ['out/node.js', built.url, built.wsUrl], { cwd: scratch, timeout: 15_000 })
  const result = JSON.parse(stdout) as { user: string, echoed: string, statuses: string[], html: string }
  t.equal(result.user, 'user')
  t.equal(result.echoed, 'hello')
  t.same(result.statuses, ['connecting', 'open', 'closed'])
  t.equal(result.html, '<p id="status">idle 0</p>', 'rendering on the server opens no socket')
})

t.test('the app bundles for the browser (no Node built-ins) and runs in Chromium', async (t) => {
  const result = await bundle({
    absWorkingDir: scratch,
    entryPoints: ['src/browser.ts'],
    bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent'
  })
  const inputs = Object.keys(result.metafile.inputs)
  t.ok(inputs.some((f) => f.includes('node_modules/wsgate/dist/src/client/')), 'the installed package is what was bundled')
  t.notOk(inputs.some((f) => f.startsWith('node:')), 'nothing from Node')
  const app = result.outputFiles[0]?.text ?? ''
  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const { page, errors, waitForText } = await openPage(t, browser)
  // The bundle is served on the app's own origin, into a document the app
  // itself serves (its 404 page): Chromium treats a document a test fulfils
  // as public and blocks its sockets to 127.0.0.1 (local network access).
  await page.route(`${built.url}/sdk-app/app.js`, async (route) => { await route.fulfill({ contentType: 'text/javascript', body: app }) })
  await page.goto(`${built.url}/sdk-app/`)
  await page.addScriptTag({ url: `${built.url}/sdk-app/app.js`, type: 'module' })
  const text = await waitForText('#result', /"echoed":"hello"/, 10_000)
  t.match(JSON.parse(text), { user: 'user', echoed: 'hello', statuses: ['connecting', 'open', 'closed'] })
  await waitForText('#status', /^open [1-9]\d*$/, 10_000)
  t.same(errors.filter((e) => !e.includes('status of 404')), [], 'no errors but the host document\'s own 404')
})

t.test(`the client entry is at most ${CLIENT_BUDGET_BYTES} bytes min+gzip, and tree-shakes`, async (t) => {
  const whole = await gzippedBundle(scratch, "export * from 'wsgate/client'")
  const loginOnly = await gzippedBundle(scratch, "export { login } from 'wsgate/client'")
  const hooks = await gzippedBundle(scratch, "export * from 'wsgate/react'", ['react'])
  t.comment(`wsgate/client ${whole} B, login alone ${loginOnly} B, wsgate/react (React external) ${hooks} B, min+gzip`)
  t.ok(whole <= CLIENT_BUDGET_BYTES, `wsgate/client is ${whole} B`)
  t.ok(loginOnly < whole / 3, `login alone is ${loginOnly} B: the client class and the rest are dropped`)
})

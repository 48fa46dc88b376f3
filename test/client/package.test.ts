import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build as bundle } from 'esbuild'
import t from 'tap'
import { build, tempDir } from '../helper.js'
import { chromiumMissing, launch, openPage, ROOT } from '../web/browser.js'
import { REACTS, reactMissing } from '../web/react-versions.js'
import { TestSocket } from '../ws-client.js'
import { appFiles } from './package-app.js'

/*
 * The SDK as a React app gets it: `npm pack ./sdk`, then a scratch project
 * outside the repo that `npm install`s the tarball beside React 19, and an
 * app on `wsgate/client` and `wsgate/react` typechecked against the real
 * @types/react, run in Node against a live server, bundled for the browser
 * and run in Chromium, where it logs in, connects and renders messages.
 *
 * The install is offline: every dependency of the app is a tarball packed
 * here from a copy already installed (React 19 from test/react19, ws and the
 * Node types from the repo). That the tarball installs with no network also
 * proves it has no dependencies of its own.
 */

t.setTimeout(120_000)

const run = promisify(execFile)
const CLIENT_BUDGET_BYTES = 8 * 1024
/** The app's own dependencies and where their installed copies are. */
const APP_DEPENDENCIES: Record<string, string> = {
  react: REACTS[19],
  'react-dom': REACTS[19],
  '@types/react': REACTS[19],
  '@types/react-dom': REACTS[19],
  ws: join(ROOT, 'node_modules'),
  '@types/ws': join(ROOT, 'node_modules'),
  '@types/node': join(ROOT, 'node_modules')
}

/** The tarball packs sdk/dist: a source newer than its build would test old code. */
function staleBuild (): string | undefined {
  for (const dir of ['client', 'protocol']) {
    for (const file of readdirSync(join(ROOT, 'src', dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
      const built = join(ROOT, 'sdk', 'dist', dir, file.replace(/\.ts$/, '.js'))
      let builtAt: number
      try { builtAt = statSync(built).mtimeMs } catch { return `${built} is missing: run \`npm run build:sdk\`` }
      if (statSync(join(ROOT, 'src', dir, file)).mtimeMs > builtAt) return `src/${dir}/${file} is newer than its build: run \`npm run build:sdk\``
    }
  }
  return undefined
}

/** Each package's folder, with every package it depends on, found the way Node would from `modules`. */
function withDependencies (roots: Record<string, string>): string[] {
  const found = new Map<string, string>()
  const visit = (name: string, modules: string): void => {
    if (found.has(name)) return
    const dir = join(modules, name)
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    found.set(name, dir)
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, modules)
  }
  for (const [name, modules] of Object.entries(roots)) visit(name, modules)
  return [...found.values()]
}

async function gzippedBundle (scratch: string, contents: string, external: string[] = []): Promise<number> {
  const result = await bundle({
    stdin: { contents, resolveDir: scratch, loader: 'ts' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, external, logLevel: 'silent'
  })
  return gzipSync(result.outputFiles[0]?.contents ?? new Uint8Array(), { level: 9 }).length
}

for (const missing of [staleBuild(), chromiumMissing(), reactMissing(19)]) {
  if (missing !== undefined) throw new Error(missing)
}

interface Packed { name: string, version: string, filename: string, files: Array<{ path: string }> }
const scratch = tempDir(t)
const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch, join(ROOT, 'sdk'), ...withDependencies(APP_DEPENDENCIES)], { cwd: ROOT })
const packed = JSON.parse(stdout) as Packed[]
const wsgate = packed.find((p) => p.name === 'wsgate')
if (wsgate === undefined) throw new Error(`npm pack made no wsgate tarball: ${stdout}`)
// Every package is a dependency of the app, so that npm finds each tarball without asking the registry.
const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:${p.filename}`]))
writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'react-app', private: true, type: 'module', dependencies }, null, 2))
await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: scratch })
for (const [file, text] of Object.entries(appFiles)) {
  mkdirSync(dirname(join(scratch, file)), { recursive: true })
  writeFileSync(join(scratch, file), text)
}

t.test('the tarball is the two entries with their types and nothing else; it depends on nothing', async (t) => {
  const paths = wsgate.files.map((f) => f.path)
  for (const file of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/client/react-entry.js', 'dist/client/react-entry.d.ts', 'dist/protocol/index.js', 'README.md']) {
    t.ok(paths.includes(file), file)
  }
  t.same(paths.filter((p) => !/^dist\/(client|protocol)\/[\w-]+\.(js|d\.ts)$/.test(p) && p !== 'package.json' && p !== 'README.md'), [], 'nothing more')
  const manifest = JSON.parse(readFileSync(join(scratch, 'node_modules', 'wsgate', 'package.json'), 'utf8')) as Record<string, unknown>
  t.equal(manifest.dependencies, undefined, 'no dependencies')
  t.same(manifest.peerDependenciesMeta, { react: { optional: true } }, 'React is an optional peer')
  const server = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(wsgate.version, server.version, 'the SDK is versioned with the server')
})

t.test('the app typechecks against the installed types and the real @types/react', async (t) => {
  // lib/tsc.js, not the extensionless bin: under tap's process tracking Node loads that one through require() and fails.
  const result = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'lib', 'tsc.js'), '-p', 'tsconfig.json'], { cwd: scratch })
    .then(({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }))
    .catch((err: { code?: number, stdout?: string, stderr?: string }) => ({ code: err.code ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }))
  t.same(result, { code: 0, output: '' }, 'tsc exits 0 and reports nothing')
  t.ok(statSync(join(scratch, 'out', 'node.js')).isFile(), 'and emits the app')
})

const built = await build(t)

t.test('the app runs in Node: login, connect, echo, and the component server-rendered', async (t) => {
  const { stdout } = await run(process.execPath, ['out/node.js', built.url, built.wsUrl], { cwd: scratch, timeout: 15_000 })
  const result = JSON.parse(stdout) as { user: string, echoed: string, statuses: string[], html: string }
  t.equal(result.user, 'user')
  t.equal(result.echoed, 'hello')
  t.same(result.statuses, ['connecting', 'open', 'closed'])
  t.match(result.html, /^<section data-react="19\.[^"]+"><p id="status">idle<\/p><ul id="messages"><\/ul><\/section>$/, 'rendering on the server opens no socket')
})

t.test('the app bundles for the browser from its own node_modules and renders messages in Chromium', async (t) => {
  const result = await bundle({
    absWorkingDir: scratch,
    entryPoints: ['src/browser.tsx'],
    bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent'
  })
  const inputs = Object.keys(result.metafile.inputs)
  t.ok(inputs.some((f) => f.startsWith('node_modules/wsgate/dist/client/')), 'the installed package is what was bundled')
  t.ok(inputs.some((f) => f.startsWith('node_modules/react-dom/')), 'with the app\'s React')
  t.same(inputs.filter((f) => f.startsWith('node:') || f.startsWith('..')), [], 'nothing from Node or from outside the app')
  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const { page, errors, waitForText } = await openPage(t, browser)
  // The bundle is served on the app's own origin, into a document the app
  // itself serves (its 404 page): Chromium treats a document a test fulfils
  // as public and blocks its sockets to 127.0.0.1 (local network access).
  await page.route(`${built.url}/react-app/app.js`, async (route) => { await route.fulfill({ contentType: 'text/javascript', body: result.outputFiles[0]?.text ?? '' }) })
  await page.goto(`${built.url}/react-app/`)
  await page.addScriptTag({ url: `${built.url}/react-app/app.js`, type: 'module' })
  const text = await waitForText('#result', /"echoed":"hello"/, 10_000)
  t.match(JSON.parse(text), { user: 'user', echoed: 'hello', statuses: ['connecting', 'open', 'closed'] })
  await waitForText('#status', 'open', 10_000)
  t.match(await page.getAttribute('section', 'data-react'), /^19\./, 'rendered by React 19')

  await built.app.users.create({ username: 'backend', passwordHash: await built.app.passwords.hash('backend-password') })
  const sender = await TestSocket.connect(`${built.wsUrl}/ws?token=${(await built.login('backend', 'backend-password')).access_token}`)
  t.teardown(() => { sender.close() })
  sender.send({ type: 'chat', payload: 'hello from the backend' })
  await waitForText('#messages', 'backend: hello from the backend', 10_000)
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

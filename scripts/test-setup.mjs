#!/usr/bin/env node
// `npm test` runs this first (pretest), so that the README's test command
// passes on a fresh machine with nothing done by hand. It:
//   1. rebuilds tap without @tapjs/typescript after a fresh install;
//   2. builds dist/ (the server, the CLIs, the pages): CLI tests run the
//      compiled scripts, as a deployment does, instead of paying tsx per child;
//      and sdk/dist, which test/client/package.test.ts packs;
//   3. installs React 19 into test/react19 (a project of its own: the repo's
//      top-level React is 18, which tap's reporter needs) when it is missing
//      or older than its lockfile;
//   4. installs Debian's Chromium for the browser tests when it is missing and
//      this user may (root with apt-get), and otherwise says how;
//   5. starts the machine's PostgreSQL and Redis when they are installed but down.
// Nothing here is fatal: a test that needs a missing service fails and says why.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { connect } from 'node:net'

const say = (line) => { process.stderr.write(`test-setup: ${line}\n`) }

function has (command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

function run (command, args) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  if (result.status !== 0) say(`${command} ${args.join(' ')} failed: ${(result.stderr ?? result.error?.message ?? '').trim().split('\n').pop()}`)
  return result.status === 0
}

async function listening (port, timeoutMs = 500) {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const done = (ok) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

async function waitListening (port, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await listening(port)) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return false
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

// 1. tap builds its plugin set once; after a fresh install, or after .taprc
// changes it, tap would rebuild on its first run but still load the old set
// for that run, so every test would fail once. Rebuild up front when needed.
const tapBuilt = 'node_modules/@tapjs/test/test-built/dist/esm/index.js'
const excluded = [...readFileSync('.taprc', 'utf8').matchAll(/^\s*-\s*"!(@tapjs\/[\w-]+)"/gm)].map((m) => m[1])
if (existsSync(tapBuilt)) {
  const builtText = readFileSync(tapBuilt, 'utf8')
  if (excluded.some((name) => builtText.includes(`'${name}'`) || builtText.includes(`"${name}"`))) {
    say('rebuilding tap with the plugins .taprc names (first run after install, ~15 s)')
    execFileSync(process.execPath, ['node_modules/tap/dist/esm/run.mjs', 'build'], { stdio: 'inherit' })
  }
}

// 2. Incremental: a second run with no source change takes about a second.
say('building dist/ and the SDK package in sdk/dist (npm run build, npm run build:sdk)')
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
execFileSync('npm', ['run', '--silent', 'build:sdk'], { stdio: 'inherit' })

// 3. React 19 for the hook and package tests.
const react19Lock = 'test/react19/package-lock.json'
const react19Installed = 'test/react19/node_modules/.package-lock.json'
if (!existsSync(react19Installed) || statSync(react19Installed).mtimeMs < statSync(react19Lock).mtimeMs) {
  say('installing React 19 into test/react19 (npm ci there)')
  run('npm', ['ci', '--prefix', 'test/react19', '--no-audit', '--no-fund'])
}

// 4. Chromium for test/web.
if (!existsSync('/usr/bin/chromium')) {
  if (isRoot && has('apt-get')) {
    say('installing Debian\'s chromium for the browser tests (apt-get, about a minute)')
    if (run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', 'chromium'])) say('chromium installed')
  } else {
    say('/usr/bin/chromium is missing: the browser tests will fail. Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu).')
  }
}

// 5. Services the machine has installed but not running.
if (!await listening(5432)) {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : []
  const version = versions.at(-1)
  if (version !== undefined && has('pg_ctlcluster')) {
    say(`starting PostgreSQL ${version}`)
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'])
    say(await waitListening(5432, 30_000) ? 'PostgreSQL is up' : 'PostgreSQL did not come up; tests that need it will fail')
  } else {
    say('PostgreSQL is not running on 127.0.0.1:5432 and is not installed here; tests that need it will fail')
  }
}
if (!await listening(6379)) {
  if (has('redis-server')) {
    say('starting Redis')
    if (isRoot) for (const dir of ['/var/lib/redis', '/var/log/redis']) mkdirSync(dir, { recursive: true })
    run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no',
      ...(isRoot ? ['--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'] : [])])
    say(await waitListening(6379, 10_000) ? 'Redis is up' : 'Redis did not come up; tests that need it will fail')
  } else {
    say('Redis is not running on 127.0.0.1:6379 and is not installed here; tests that need it will fail')
  }
}

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PasswordHasher } from '../../src/auth/passwords.js'
import { openDb } from '../../src/store/db.js'
import { UserStore, type User } from '../../src/store/users.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'wsgate-users-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const databaseUrl = `sqlite:${join(dir, 't.db')}`
// About 20 cold tsx starts; a loaded CI machine needs more than the default minute.
t.setTimeout(180_000)

// tap's own loaders (NODE_OPTIONS, TAP_*) would wrap and slow every child; the CLI needs none of them.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !/^_?TAP/.test(key)))

interface Result { code: number | null, stdout: string, stderr: string }

/** The real CLI, as `npm run users` runs it, with the password piped on stdin. */
async function cli (args: string[], stdin = ''): Promise<Result> {
  const child = spawn(process.execPath, ['--import=tsx', 'scripts/users.ts', ...args], {
    cwd: root,
    env: { ...childEnv, NODE_ENV: 'test', DATABASE_URL: databaseUrl, BCRYPT_COST: '4' },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(stdin)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, stdout, stderr }
}

async function findUser (name: string): Promise<User | undefined> {
  const db = await openDb(databaseUrl)
  try {
    return await new UserStore(db).findByUsername(name)
  } finally {
    await db.destroy()
  }
}

t.test('the users CLI', async (t) => {
  const hasher = await PasswordHasher.create({ cost: 4, size: 1 })
  t.teardown(async () => { await hasher.close() })

  await t.test('add reads the password from stdin', async (t) => {
    const r = await cli(['add', 'alice'], 'first secret\n')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /Added user "alice"/)
    const alice = await findUser('alice')
    t.ok(alice)
    t.equal(await hasher.verify('first secret', alice?.passwordHash ?? ''), true, 'trailing newline stripped')
  })

  await t.test('a duplicate add fails with exit 1', async (t) => {
    const r = await cli(['add', 'alice'], 'other\n')
    t.equal(r.code, 1)
    t.match(r.stderr, /already exists/)
  })

  await t.test('list shows the user', async (t) => {
    const r = await cli(['list'])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /USERNAME\s+ROLES\s+DISABLED\s+CREATED/)
    t.match(r.stdout, /^alice\s+-\s+no\s+\d{4}-/m)
  })

  await t.test('role add and remove', async (t) => {
    t.equal((await cli(['role', 'alice', 'add', 'admin'])).code, 0)
    t.match((await cli(['list'])).stdout, /^alice\s+admin\s+no/m)
    t.equal((await cli(['role', 'alice', 'remove', 'admin'])).code, 0)
    t.same((await findUser('alice'))?.roles, [])
    const r = await cli(['role', 'nobody', 'add', 'admin'])
    t.equal(r.code, 1)
    t.match(r.stderr, /No user named "nobody"/)
  })

  await t.test('add with repeated --role', async (t) => {
    const r = await cli(['add', 'bob', '--role', 'admin', '--role', 'ops'], 'bob pw\n')
    t.equal(r.code, 0, r.stderr)
    t.same((await findUser('bob'))?.roles, ['admin', 'ops'])
  })

  await t.test('disable and enable', async (t) => {
    t.equal((await cli(['disable', 'alice'])).code, 0)
    t.equal((await findUser('alice'))?.disabled, true)
    t.match((await cli(['list'])).stdout, /^alice\s+-\s+yes/m)
    t.equal((await cli(['enable', 'alice'])).code, 0)
    t.equal((await findUser('alice'))?.disabled, false)
  })

  await t.test('passwd changes the hash', async (t) => {
    const before = (await findUser('alice'))?.passwordHash
    const r = await cli(['passwd', 'alice'], 'second secret\r\n')
    t.equal(r.code, 0, r.stderr)
    const after = (await findUser('alice'))?.passwordHash ?? ''
    t.not(after, before)
    t.equal(await hasher.verify('second secret', after), true)
    t.equal(await hasher.verify('first secret', after), false)
  })

  await t.test('passwords that may not be set are refused', async (t) => {
    const long = await cli(['add', 'carol'], `${'a'.repeat(73)}\n`)
    t.equal(long.code, 1)
    t.match(long.stderr, /72 bytes/)
    const empty = await cli(['passwd', 'alice'], '')
    t.equal(empty.code, 1)
    t.match(empty.stderr, /empty/)
    t.equal(await findUser('carol'), undefined)
  })

  await t.test('delete', async (t) => {
    t.equal((await cli(['delete', 'bob'])).code, 0)
    t.equal(await findUser('bob'), undefined)
    t.equal((await cli(['delete', 'bob'])).code, 1)
  })

  await t.test('usage errors exit 2 with the usage text', async (t) => {
    // Usage errors stop before the database opens, so these may run side by side.
    const cases = [[], ['frobnicate'], ['add'], ['add', 'bad name!'], ['list', '--bogus'], ['role', 'alice', 'grant', 'x'], ['disable', 'alice', '--role', 'x']]
    const results = await Promise.all(cases.map(async (args) => await cli(args)))
    results.forEach((r, i) => {
      t.equal(r.code, 2, JSON.stringify(cases[i]))
      t.match(r.stderr, /Usage: npm run users/)
    })
  })
})

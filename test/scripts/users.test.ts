import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { User, UserStore } from '../../src/store/users.js'
import { parseCommand, UsageError } from '../../scripts/lib/users-args.js'
import { childEnv, compiled } from '../cli.js'
import type { TestContext } from '../helper.js'
import { freshPostgres } from '../services.js'
import { runToEnd, type Exit } from './child.js'
import { scratchDir } from './temp.js'

/**
 * The real CLI, compiled as `npm run build` emits it, run as a child with the
 * password piped on stdin. Each group of tests has its own database, so the
 * groups run side by side; within a group the steps build on each other.
 * Every group runs on a SQLite file and on a fresh Postgres database.
 */

const ENGINES = ['sqlite', 'postgres'] as const
type Engine = typeof ENGINES[number]

const script = compiled('dist/scripts/users.js')
// The store and the hasher (kysely, bcryptjs) take this process a good part of
// a second to load through tsx: loaded while the first CLI runs go, not before.
const loaded = (async () => {
  const [{ openDb }, { UserStore }, { PasswordHasher }] = await Promise.all([
    import('../../src/store/db.js'), import('../../src/store/users.js'), import('../../src/auth/passwords.js')
  ])
  return { openDb, UserStore, hasher: await PasswordHasher.create({ cost: 4, size: 1 }) }
})()
t.teardown(async () => { await (await loaded).hasher.close() })
t.jobs = 3
// About 60 CLI runs (every case on both engines), each a process start: a
// deadline with room for a busy machine, not a measure.
t.setTimeout(180_000)

async function verify (password: string, hash: string): Promise<boolean> {
  return await (await loaded).hasher.verify(password, hash)
}

interface Database {
  /** `npm run users -- <args>` against this database. */
  cli: (args: string[], stdin?: string) => Promise<Exit>
  findUser: (name: string) => Promise<User | undefined>
  /** Adds a user directly through the store, for a test about another command. */
  seed: (username: string, roles?: string[]) => Promise<void>
}

async function database (t: TestContext, engine: Engine): Promise<Database> {
  const dir = scratchDir(t)
  const databaseUrl = engine === 'sqlite' ? `sqlite:${join(dir, 't.db')}` : await freshPostgres(t)
  const withStore = async <T>(use: (users: UserStore) => Promise<T>): Promise<T> => {
    const { openDb, UserStore } = await loaded
    const db = await openDb(databaseUrl)
    try {
      return await use(new UserStore(db))
    } finally {
      await db.destroy()
    }
  }
  return {
    // The folder as the working directory: a developer's .env in the checkout stays out of it.
    cli: async (args, stdin = '') => await runToEnd(script, {
      args,
      cwd: dir,
      env: childEnv({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, BCRYPT_COST: '4', BCRYPT_THREADS: '1' }),
      input: stdin
    }),
    findUser: async (name) => await withStore(async (users) => await users.findByUsername(name)),
    seed: async (username, roles = []) => {
      const passwordHash = await (await loaded).hasher.hash('seeded password')
      await withStore(async (users) => await users.create({ username, passwordHash, roles }))
    }
  }
}

for (const engine of ENGINES) t.test(`adding a user and changing its password (${engine})`, async (t) => {
  const { cli, findUser } = await database(t, engine)

  await t.test('add reads the password from stdin and takes repeated --role', async (t) => {
    const r = await cli(['add', 'alice', '--role', 'admin', '--role', 'ops'], 'first secret\n')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /Added user "alice"/)
    const alice = await findUser('alice')
    t.ok(alice)
    t.equal(await verify('first secret', alice?.passwordHash ?? ''), true, 'trailing newline stripped')
    t.same(alice?.roles, ['admin', 'ops'])
  })

  await t.test('a duplicate add fails with exit 1', async (t) => {
    const r = await cli(['add', 'alice'], 'other\n')
    t.equal(r.code, 1)
    t.match(r.stderr, /already exists/)
  })

  await t.test('passwd changes the hash', async (t) => {
    const before = (await findUser('alice'))?.passwordHash
    const r = await cli(['passwd', 'alice'], 'second secret\r\n')
    t.equal(r.code, 0, r.stderr)
    const after = (await findUser('alice'))?.passwordHash ?? ''
    t.not(after, before)
    t.equal(await verify('second secret', after), true)
    t.equal(await verify('first secret', after), false)
  })

  await t.test('an empty password is refused', async (t) => {
    const before = (await findUser('alice'))?.passwordHash
    const empty = await cli(['passwd', 'alice'], '')
    t.equal(empty.code, 1)
    t.match(empty.stderr, /empty/)
    t.equal((await findUser('alice'))?.passwordHash, before, 'the password is unchanged')
  })
})

for (const engine of ENGINES) t.test(`roles, disable, enable and list (${engine})`, async (t) => {
  const { cli, findUser, seed } = await database(t, engine)

  await t.test('role remove and add', async (t) => {
    await seed('bob', ['admin', 'ops'])
    t.equal((await cli(['role', 'bob', 'remove', 'admin'])).code, 0)
    t.same((await findUser('bob'))?.roles, ['ops'])
    t.equal((await cli(['role', 'bob', 'add', 'admin'])).code, 0)
    t.same((await findUser('bob'))?.roles, ['admin', 'ops'], 'roles are kept sorted')
  })

  await t.test('disable', async (t) => {
    t.equal((await cli(['disable', 'bob'])).code, 0)
    t.equal((await findUser('bob'))?.disabled, true)
  })

  await t.test('list shows roles, disabled and creation date', async (t) => {
    // erin has no roles and is enabled: the other form of both columns.
    await seed('erin')
    const r = await cli(['list'])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /USERNAME\s+ROLES\s+DISABLED\s+CREATED/)
    t.match(r.stdout, /^bob\s+admin,ops\s+yes\s+\d{4}-/m)
    t.match(r.stdout, /^erin\s+-\s+no\s+\d{4}-/m)
  })

  await t.test('enable', async (t) => {
    t.equal((await cli(['enable', 'bob'])).code, 0)
    t.equal((await findUser('bob'))?.disabled, false)
  })
})

for (const engine of ENGINES) t.test(`refusals and delete (${engine})`, async (t) => {
  const { cli, findUser, seed } = await database(t, engine)

  await t.test('a password over 72 bytes is refused', async (t) => {
    const long = await cli(['add', 'carol'], `${'a'.repeat(73)}\n`)
    t.equal(long.code, 1)
    t.match(long.stderr, /72 bytes/)
    t.equal(await findUser('carol'), undefined)
  })

  await t.test('role on an unknown user', async (t) => {
    const r = await cli(['role', 'nobody', 'add', 'admin'])
    t.equal(r.code, 1)
    t.match(r.stderr, /No user named "nobody"/)
  })

  await t.test('delete', async (t) => {
    await seed('dave')
    t.equal((await cli(['delete', 'dave'])).code, 0)
    t.equal(await findUser('dave'), undefined)
    const again = await cli(['delete', 'dave'])
    t.equal(again.code, 1)
    t.match(again.stderr, /No user named "dave"/)
  })
})

t.test('usage errors exit 2 with the usage text', async (t) => {
  // Every one of these is refused by the argument parser, before the database opens...
  const cases = [[], ['frobnicate'], ['add'], ['add', 'bad name!'], ['list', '--bogus'], ['role', 'alice', 'grant', 'x'], ['disable', 'alice', '--role', 'x']]
  for (const args of cases) t.throws(() => parseCommand(args), UsageError, JSON.stringify(args))
  // ...and the CLI turns that refusal into exit 2 and the usage text.
  const dir = scratchDir(t)
  const never = join(dir, 'never.db')
  const r = await runToEnd(script, { args: ['role', 'alice', 'grant', 'x'], cwd: dir, env: childEnv({ NODE_ENV: 'test', DATABASE_URL: `sqlite:${never}` }) })
  t.equal(r.code, 2)
  t.match(r.stderr, /role takes add or remove/)
  t.match(r.stderr, /Usage: npm run users/)
  t.notOk(existsSync(never), 'the database was never opened')
})

import { join } from 'node:path'
import t from 'tap'
import { openDb, type Db } from '../../src/store/db.js'
import { UserStore } from '../../src/store/users.js'
import { call, loginAdmin } from '../admin/admin.js'
import { childEnv, compiled } from '../cli.js'
import { build, tempDir, type Built, type TestContext } from '../helper.js'
import { freshPostgres } from '../services.js'
import { runToEnd, type Exit } from './child.js'

/**
 * The compiled `npm run db:copy`, from a SQLite file that a running server
 * filled through HTTP into a fresh Postgres database, which a server then
 * runs on: copied users log in, copied refresh tokens refresh.
 */

const script = compiled('dist/scripts/db-copy.js')

async function copy (t: TestContext, args: string[]): Promise<Exit> {
  return await runToEnd(script, { args, cwd: tempDir(t), env: childEnv({}) })
}

async function refresh (built: Built, refreshToken: string): Promise<{ statusCode: number, refreshToken: string | undefined }> {
  const res = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'refresh_token', refresh_token: refreshToken } })
  return { statusCode: res.statusCode, refreshToken: res.json<{ refresh_token?: string }>().refresh_token }
}

interface Counts { users: number, sessions: number, refreshTokens: number, auditRows: number }

async function counts (db: Db): Promise<Counts> {
  const n = async (table: 'users' | 'sessions' | 'refresh_tokens' | 'audit_log'): Promise<number> =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()).n)
  return { users: await n('users'), sessions: await n('sessions'), refreshTokens: await n('refresh_tokens'), auditRows: await n('audit_log') }
}

async function withDb<T> (url: string, use: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(url, { poolSize: 1 })
  try {
    return await use(db)
  } finally {
    await db.destroy()
  }
}

t.test('a SQLite deployment copied into Postgres keeps its users and refresh tokens', async (t) => {
  // The source: a real server on a SQLite file, used through HTTP.
  const dir = tempDir(t)
  const source = await build(t, {}, { dir })
  const admin = await loginAdmin(source)
  const created = await call(source, admin, { method: 'POST', url: '/admin/users', payload: { username: 'alice', password: 'alice-password', roles: ['ops'] } })
  t.equal(created.statusCode, 201)
  const alice = await source.login('alice', 'alice-password')
  // Rotated once: the copy must carry the current token and remember the rotated one.
  const rotated = await refresh(source, alice.refresh_token ?? '')
  t.equal(rotated.statusCode, 200)
  const revoked = await source.login('user', 'password')
  const revokeRes = await source.app.inject({ method: 'POST', url: '/token/revoke', payload: { token: revoked.refresh_token } })
  t.equal(revokeRes.statusCode, 200)
  await source.app.close()
  const sourceUrl = `sqlite:${join(dir, 'test.db')}`
  const before = await withDb(sourceUrl, counts)
  t.ok(before.auditRows >= 4, 'the server wrote audit rows')

  const target = await freshPostgres(t)
  const first = await copy(t, ['--from', sourceUrl, '--to', target])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /users\s+3 copied/)
  t.match(first.stdout, /sessions\s+2 copied/, 'the admin\'s and alice\'s; the revoked one stays behind')
  t.match(first.stdout, /Done\./)
  const copied = await withDb(target, counts)
  t.same(copied, { users: 3, sessions: 2, refreshTokens: 3, auditRows: before.auditRows }, 'alice\'s two token rows and root\'s one')

  await t.test('a second run changes nothing and says so', async (t) => {
    const second = await copy(t, ['--from', sourceUrl, '--to', target])
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, /Nothing to copy/)
    t.same(await withDb(target, counts), copied)
  })

  await t.test('a server on the copy accepts the copied credentials', async (t) => {
    const onPostgres = await build(t, { DATABASE_URL: target })
    const ready = await onPostgres.app.inject({ method: 'GET', url: '/ready' })
    t.equal(ready.statusCode, 200, 'the readiness probe answers on Postgres')
    t.ok(await onPostgres.login('alice', 'alice-password'), 'a copied user logs in')
    const again = await refresh(onPostgres, rotated.refreshToken ?? '')
    t.equal(again.statusCode, 200, 'the copied refresh token refreshes')
    t.equal((await refresh(onPostgres, revoked.refresh_token ?? '')).statusCode, 400, 'a session revoked before the copy stays dead')
    // New rows after the copied ids: the sequences were moved past them.
    const bob = await call(onPostgres, await onPostgres.login('root', 'root-password').then((r) => r.access_token), {
      method: 'POST', url: '/admin/users', payload: { username: 'bob', password: 'bob-password' }
    })
    t.equal(bob.statusCode, 201, 'a new user gets a fresh id')
    await onPostgres.app.auditLog.flush()
    t.ok((await withDb(target, counts)).auditRows > before.auditRows, 'new audit rows get fresh ids')
  })

  await t.test('a target with rows of its own is refused without --force', async (t) => {
    const other = await freshPostgres(t)
    await withDb(other, async (db) => await new UserStore(db).create({ username: 'user', passwordHash: 'the target\'s own' }))
    const refused = await copy(t, ['--from', sourceUrl, '--to', other])
    t.equal(refused.code, 1)
    t.match(refused.stderr, /Refused, nothing was written/)
    t.match(refused.stderr, /--force/)
    t.same(await withDb(other, counts), { users: 1, sessions: 0, refreshTokens: 0, auditRows: 0 }, 'nothing was written')

    const forced = await copy(t, ['--from', sourceUrl, '--to', other, '--force'])
    t.equal(forced.code, 0, forced.stderr)
    t.match(forced.stdout, /users\s+2 copied\s+1 already there/)
    t.same(await withDb(other, counts), copied, 'everything else was added')
    t.equal(await withDb(other, async (db) => (await new UserStore(db).findByUsername('user'))?.passwordHash), 'the target\'s own', '--force keeps the target\'s row')
  })

  await t.test('bad arguments exit 2 with the usage', async (t) => {
    const r = await copy(t, ['--from', sourceUrl])
    t.equal(r.code, 2)
    t.match(r.stderr, /Missing --to/)
    t.match(r.stderr, /Usage: npm run db:copy/)
  })
})

import { join } from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { AuditQuery } from '../../src/audit/query.js'
import { AuditStore, type AuditRecord } from '../../src/store/audit.js'
import { openDb, type Db, type Engine } from '../../src/store/db.js'
import { IdentityStore } from '../../src/store/identity.js'
import { ping } from '../../src/store/migrations.js'
import { SessionStore } from '../../src/store/sessions.js'
import { DuplicateUserError, UserStore } from '../../src/store/users.js'
import type { TestContext } from '../helper.js'
import { scratchDir } from '../scripts/temp.js'
import { freshPostgres } from '../services.js'

/**
 * Every store against both engines: the same cases on a SQLite file and on a
 * fresh Postgres database, through the same Kysely code the server runs.
 */

const ENGINES: Record<Engine, (t: TestContext) => Promise<string>> = {
  sqlite: async (t) => `sqlite:${join(scratchDir(t), 'store.db')}`,
  postgres: freshPostgres
}

const MIGRATIONS = ['0001_users', '0002_sessions', '0003_audit']
const HOUR = 3_600_000

function isoIn (ms: number): string {
  return new Date(Date.now() + ms).toISOString()
}

async function open (t: TestContext, url: string): Promise<Db> {
  const db = await openDb(url, { poolSize: 4 })
  t.teardown(async () => { await db.destroy() })
  return db
}

async function appliedMigrations (db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
  return rows.map((r) => r.name)
}

for (const [engine, databaseUrl] of Object.entries(ENGINES)) {
  t.test(engine, async (t) => {
    t.test('users', async (t) => {
      const db = await open(t, await databaseUrl(t))
      const users = new UserStore(db)

      const alice = await users.create({ username: 'alice', passwordHash: 'h1', roles: ['ops', 'admin', 'ops', ' '] })
      t.match(alice, { username: 'alice', passwordHash: 'h1', disabled: false })
      t.same(alice.roles, ['admin', 'ops'], 'roles stored sorted and distinct')
      t.equal(typeof alice.id, 'number')
      t.match(alice.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)

      await t.rejects(users.create({ username: 'alice', passwordHash: 'h2' }), DuplicateUserError, 'a taken name is the typed error')
      t.equal((await users.findByUsername('alice'))?.passwordHash, 'h1', 'the first user is untouched')

      // Several creates of one new name at once: the constraint lets exactly one in.
      const racing = await Promise.allSettled([1, 2, 3, 4].map(async (n) => await users.create({ username: 'racer', passwordHash: `h${n}` })))
      t.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'one create wins')
      t.ok(racing.every((r) => r.status === 'fulfilled' || r.reason instanceof DuplicateUserError), 'the others get DuplicateUserError')

      await users.create({ username: 'Bob', passwordHash: 'h3' })
      t.same((await users.list()).map((u) => u.username), ['Bob', 'alice', 'racer'], 'listed in byte order on both engines')
      t.equal(await users.count(), 3)
      t.equal(await users.findByUsername('nobody'), undefined)

      t.equal(await users.setRoles('alice', ['ops']), true)
      t.same((await users.findByUsername('alice'))?.roles, ['ops'])
      t.equal(await users.setRoles('alice', []), true)
      t.same((await users.findByUsername('alice'))?.roles, [], 'no roles reads back as an empty list')
      t.equal(await users.setRoles('nobody', ['x']), false)

      t.equal(await users.setDisabled('Bob', true), true)
      t.equal((await users.findByUsername('Bob'))?.disabled, true)
      t.same(await users.inactiveAmong(['alice', 'Bob', 'ghost']), ['Bob', 'ghost'], 'disabled and unknown names are inactive')
      t.equal(await users.setDisabled('Bob', false), true)
      t.same(await users.inactiveAmong(['alice', 'Bob']), [])
      t.same(await users.inactiveAmong([]), [])

      t.equal(await users.setPasswordHash('alice', 'h9'), true)
      t.equal((await users.findByUsername('alice'))?.passwordHash, 'h9')
      t.equal(await users.delete('racer'), true)
      t.equal(await users.delete('racer'), false)
    })

    t.test('sessions, refresh tokens and identities', async (t) => {
      const db = await open(t, await databaseUrl(t))
      const sessions = new SessionStore(db)
      const identities = new IdentityStore(db)
      await new UserStore(db).create({ username: 'alice', passwordHash: 'h', roles: ['admin'] })
      const expiresAt = isoIn(HOUR)

      await sessions.create({ id: 's1', username: 'alice', tokenHash: 'r1', expiresAt })
      t.same(await sessions.findRefreshToken('r1'), { sessionId: 's1', username: 'alice', expiresAt, rotatedAt: null, sessionRevokedAt: null })
      t.equal(await sessions.findRefreshToken('nope'), undefined)
      t.same(await identities.find('alice', 's1'), { username: 'alice', roles: ['admin'], disabled: false, sessionActive: true })
      t.same(await identities.find('alice', undefined), { username: 'alice', roles: ['admin'], disabled: false, sessionActive: false })
      t.equal(await identities.find('ghost', 's1'), undefined)

      t.equal(await sessions.rotate({ sessionId: 's1', oldHash: 'r1', newHash: 'r2', expiresAt }), true)
      t.equal(await sessions.rotate({ sessionId: 's1', oldHash: 'r1', newHash: 'r3', expiresAt }), false, 'a rotated token does not rotate again')
      t.match(await sessions.findRefreshToken('r1'), { rotatedAt: /Z$/ }, 'the rotated row is kept, to recognise reuse')
      t.equal(await sessions.findRefreshToken('r3'), undefined)

      // Two refreshes with one token at once (on Postgres: two pooled connections).
      const outcomes = await Promise.all(['r4a', 'r4b'].map(async (newHash) => await sessions.rotate({ sessionId: 's1', oldHash: 'r2', newHash, expiresAt })))
      t.same(outcomes.filter(Boolean).length, 1, 'exactly one of two parallel rotations wins')
      const stored = await Promise.all(['r4a', 'r4b'].map(async (hash) => await sessions.findRefreshToken(hash)))
      t.equal(stored.filter((s) => s !== undefined).length, 1, 'and only the winner stored its new token')

      await sessions.create({ id: 's2', username: 'alice', tokenHash: 'q1', expiresAt })
      await sessions.create({ id: 's3', username: 'alice', tokenHash: 'p1', expiresAt })
      await sessions.create({ id: 'old', username: 'alice', tokenHash: 'o1', expiresAt: isoIn(-HOUR) })
      t.same(await sessions.inactiveAmong(['s1', 's2', 'old', 'ghost']), ['old', 'ghost'], 'expired and unknown sessions are inactive')
      t.equal((await identities.find('alice', 'old'))?.sessionActive, false, 'an expired session is not active')

      t.equal(await sessions.revoke('s1', 'logout'), true)
      t.equal(await sessions.revoke('s1', 'logout'), false, 'revoking twice changes nothing')
      t.match(await sessions.findRefreshToken('r1'), { sessionRevokedAt: /Z$/ })
      t.equal((await identities.find('alice', 's1'))?.sessionActive, false)
      t.equal(await sessions.revokeAllOf('alice', 'password changed'), 3, 's2, s3 and the expired one; s1 was already revoked')
      t.same(await sessions.inactiveAmong(['s1', 's2', 's3']), ['s1', 's2', 's3'])
      t.equal(await sessions.revokeAllOf('alice', 'again'), 0)
    })

    t.test('audit rows', async (t) => {
      const db = await open(t, await databaseUrl(t))
      const store = new AuditStore(db)
      const base = { ip: '127.0.0.1', userAgent: null, reason: null }
      const records: AuditRecord[] = [
        { ...base, at: '2030-01-01T00:00:00.000Z', kind: 'password_grant', username: 'alice', outcome: 'success' },
        { ...base, at: '2030-01-01T00:00:01.000Z', kind: 'password_grant', username: 'mallory', outcome: 'failure', reason: 'invalid_grant' },
        { ...base, at: '2030-01-01T00:00:09.500Z', kind: 'refresh_grant', username: 'alice', outcome: 'success', userAgent: 'curl/8' },
        { ...base, at: '2030-01-01T00:00:10.000Z', kind: 'ws_auth', username: null, outcome: 'failure' },
        { ...base, at: '2030-01-01T00:01:00.000Z', kind: 'admin_action', username: 'alice', outcome: 'success', reason: 'disable user bob' }
      ]
      await store.insertMany(records)
      await store.insertMany([])

      const all = await store.find({ limit: 10 })
      t.same(all.map((e) => e.at), records.map((r) => r.at).reverse(), 'newest first')
      t.same(all.map((e) => e.id), [...all.map((e) => e.id)].sort((a, b) => b - a), 'by descending id')
      t.same(all.find((e) => e.kind === 'refresh_grant'), { ...records[2], id: all[2]?.id })

      const byUser = await store.find({ username: 'alice', limit: 10 })
      t.same(byUser.map((e) => e.kind), ['admin_action', 'refresh_grant', 'password_grant'])
      t.same((await store.find({ outcome: 'failure', kind: 'ws_auth', limit: 10 })).map((e) => e.username), [null])
      // `from` inclusive, `to` exclusive: 00:00:01 and 00:00:09.5 only.
      const window = await store.find({ from: '2030-01-01T00:00:01.000Z', to: '2030-01-01T00:00:10.000Z', limit: 10 })
      t.same(window.map((e) => e.at), ['2030-01-01T00:00:09.500Z', '2030-01-01T00:00:01.000Z'])

      // As GET /admin/audit reads it: pages through the keyset cursor, times normalised first.
      const query = new AuditQuery(store)
      const first = await query.page({ limit: 2, from: '2030-01-01T00:00:00Z' })
      t.equal(first.items.length, 2)
      t.not(first.next, null)
      const second = await query.page({ limit: 2, from: '2030-01-01T00:00:00Z', before: first.next ?? 0 })
      const third = await query.page({ limit: 2, from: '2030-01-01T00:00:00Z', before: second.next ?? 0 })
      t.equal(third.next, null, 'the last page says so')
      t.same([...first.items, ...second.items, ...third.items].map((e) => e.id), all.map((e) => e.id), 'pages cover every row once')
      t.same((await query.page({ user: 'alice', to: '2030-01-01T00:00:10+00:00' })).items.map((e) => e.kind), ['refresh_grant', 'password_grant'])
    })

    t.test('opening a migrated database again is a no-op', async (t) => {
      const url = await databaseUrl(t)
      const first = await openDb(url)
      await new UserStore(first).create({ username: 'kept', passwordHash: 'h' })
      const migratedAt = (await sql<{ timestamp: string }>`select timestamp from kysely_migration`.execute(first)).rows.map((r) => r.timestamp)
      await first.destroy()

      const again = await open(t, url)
      await ping(again)
      t.same(await appliedMigrations(again), MIGRATIONS)
      t.same((await sql<{ timestamp: string }>`select timestamp from kysely_migration`.execute(again)).rows.map((r) => r.timestamp), migratedAt, 'no migration ran again')
      t.equal((await new UserStore(again).findByUsername('kept'))?.username, 'kept', 'the data is kept')
    })
  })
}

t.test('postgres: two instances migrating an empty database at once both start', async (t) => {
  const url = await freshPostgres(t)
  // Pools of one: the lock and the migrations share the one connection.
  const [a, b] = await Promise.all([openDb(url, { poolSize: 1 }), openDb(url, { poolSize: 1 })])
  t.teardown(async () => { await Promise.all([a.destroy(), b.destroy()]) })
  t.same(await appliedMigrations(a), MIGRATIONS, 'every migration recorded once')
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' order by table_name`.execute(b)
  t.same(rows.map((r) => r.name), ['audit_log', 'kysely_migration', 'kysely_migration_lock', 'refresh_tokens', 'sessions', 'users'])
  const locks = await sql<{ n: string }>`
    select count(*) as n from pg_locks
    where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`.execute(a)
  t.equal(Number(locks.rows[0]?.n), 0, 'no advisory lock is left held')
  // Both work: each writes, the other reads it.
  await new UserStore(a).create({ username: 'from-a', passwordHash: 'h' })
  t.equal((await new UserStore(b).findByUsername('from-a'))?.username, 'from-a')
})

t.test('postgres: the schema refuses values the code never writes', async (t) => {
  const db = await open(t, await freshPostgres(t))
  const row = { username: 'x', password_hash: 'h', roles: '', disabled: 0, created_at: new Date().toISOString(), updated_at: new Date().toISOString() }
  await t.rejects(db.insertInto('users').values({ ...row, created_at: '2030-01-01 00:00:00' }).execute(), /users_created_at_check/, 'a timestamp not in toISOString form')
  await t.rejects(db.insertInto('users').values({ ...row, disabled: 2 }).execute(), /users_disabled_check/)
  await t.rejects(db.insertInto('users').values({ ...row, roles: 'admin,,ops' }).execute(), /users_roles_check/)
  await db.insertInto('users').values({ ...row, roles: 'admin,ops' }).execute()
  t.equal(await new UserStore(db).count(), 1, 'the well-formed row goes in')
})

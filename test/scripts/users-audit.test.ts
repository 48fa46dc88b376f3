import { join } from 'node:path'
import t from 'tap'
import { childEnv, compiled } from '../cli.js'
import { runToEnd, type Exit } from './child.js'
import { scratchDir } from './temp.js'

/**
 * The users CLI changes accounts through the same AccountService as the admin
 * REST routes: each change, done or refused, leaves an `admin_action` row,
 * written before the process exits.
 */

const script = compiled('dist/scripts/users.js')

t.test('every CLI change is audited under the OS user, refusals included; a read is not', async (t) => {
  const dir = scratchDir(t)
  const databaseUrl = `sqlite:${join(dir, 't.db')}`
  const cli = async (args: string[], input = ''): Promise<Exit> => await runToEnd(script, {
    args,
    cwd: dir,
    env: childEnv({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, BCRYPT_COST: '4', BCRYPT_THREADS: '1' }),
    input
  })

  const added = await cli(['add', 'alice', '--role', 'ops'], 'a secret\n')
  t.equal(added.code, 0, added.stderr)
  const disabled = await cli(['disable', 'alice'])
  t.equal(disabled.code, 0, disabled.stderr)
  const refused = await cli(['delete', 'nobody'])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /No user named "nobody"/)
  const listed = await cli(['list'])
  t.equal(listed.code, 0, listed.stderr)

  const [{ openDb }, { AuditStore }] = await Promise.all([import('../../src/store/db.js'), import('../../src/store/audit.js')])
  const db = await openDb(databaseUrl)
  t.teardown(async () => { await db.destroy() })
  const rows = (await new AuditStore(db).find({ limit: 50 })).reverse()
  t.same(rows.map((row) => [row.kind, row.outcome, row.reason]), [
    ['admin_action', 'success', 'create user alice'],
    ['admin_action', 'success', 'disable user alice'],
    ['admin_action', 'failure', 'delete user nobody: No user named "nobody"']
  ], 'one row per change, in order, and none for list')
  for (const row of rows) {
    t.match(row.username, /^cli:./, 'the actor is the OS user, under a name no account can have')
    t.equal(row.ip, 'local')
    t.equal(row.userAgent, 'wsgate users CLI')
  }
})

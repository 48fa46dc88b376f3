import t from 'tap'
import { build, tempDir } from '../helper.js'
import { call, loginAdmin, loginRoot } from '../admin/admin.js'

t.test('audit rows written before a graceful close survive a restart', async (t) => {
  const dir = tempDir(t)
  const first = await build(t, {}, { dir })
  const token = await loginAdmin(first)
  const created = await call(first, token, { method: 'POST', url: '/admin/users', payload: { username: 'bob', password: 'bob-password' } })
  t.equal(created.statusCode, 201)
  first.app.audit.record({ kind: 'ws_auth', username: 'ghost', ip: '203.0.113.9', userAgent: null, outcome: 'failure', reason: 'Invalid token' })
  t.ok(first.app.auditLog.stats.buffered > 0, 'still buffered: only close writes it')
  // No flush: the audit plugin's onClose must write before the db plugin's closes the file.
  await first.app.close()

  const second = await build(t, {}, { dir })
  const page = await second.app.auditQuery.page({ limit: 500 })
  t.match(page.items.find((i) => i.kind === 'ws_auth'), { username: 'ghost', ip: '203.0.113.9', outcome: 'failure', reason: 'Invalid token' })
  t.match(page.items.find((i) => i.kind === 'admin_action'), { username: 'root', outcome: 'success', reason: 'create user bob' })
  const again = await loginRoot(second)
  const res = await call(second, again, { method: 'GET', url: '/admin/audit?user=ghost' })
  t.equal(res.json<{ items: unknown[] }>().items.length, 1, 'and GET /admin/audit serves them')
})

t.test('the real store writes many events in few statements', async (t) => {
  const built = await build(t)
  const before = built.app.auditLog.stats.statements
  for (let i = 0; i < 450; i++) {
    built.app.audit.record({ kind: 'password_grant', username: `bulk${i}`, ip: '127.0.0.1', userAgent: null, outcome: 'failure', reason: 'bulk' })
  }
  await built.app.auditLog.flush()
  t.equal(built.app.auditLog.stats.statements - before, 3, '450 events, batches of 200: 3 INSERTs')
  const rows = await built.app.db.selectFrom('audit_log').select(['username']).where('reason', '=', 'bulk').orderBy('id').execute()
  t.same(rows.map((r) => r.username), Array.from({ length: 450 }, (_, i) => `bulk${i}`))
})

t.test('a failed write is logged, and record never throws', async (t) => {
  const built = await build(t)
  await built.app.db.destroy()
  t.doesNotThrow(() => {
    built.app.audit.record({ kind: 'password_grant', username: 'alice', ip: '127.0.0.1', userAgent: null, outcome: 'failure', reason: 'Incorrect username or password' })
  })
  await built.app.auditLog.flush()
  t.equal(built.app.auditLog.stats.failures, 1)
  const line = built.logs().split('\n').find((l) => l.includes('audit log write failed'))
  t.ok(line, 'the failure is logged')
  t.match(JSON.parse(line ?? '{}'), { level: 50, component: 'audit', err: { message: String }, events: 1 })
  t.notMatch(line, /alice|Incorrect/, 'the event itself is not in the log line')
})

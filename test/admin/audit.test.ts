import t from 'tap'
import type { AuditKind, AuditOutcome } from '../../src/audit/events.js'
import { AuditStore, type AuditRecord } from '../../src/store/audit.js'
import { build, type Built, type TestContext } from '../helper.js'
import { call, loginAdmin, type AuditItem } from './admin.js'

interface Page {
  items: AuditItem[]
  next: number | null
}

/** 30 rows at known times, one minute apart from 2025-01-01T00:00Z, oldest first. */
async function seed (built: Built): Promise<AuditRecord[]> {
  const kinds: AuditKind[] = ['password_grant', 'ws_auth', 'refresh_grant']
  const records = Array.from({ length: 30 }, (_, i): AuditRecord => ({
    at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
    kind: kinds[i % 3] ?? 'password_grant',
    username: i % 2 === 0 ? 'alice' : 'mallory',
    ip: `10.0.0.${i}`,
    userAgent: i === 0 ? null : 'curl/8',
    outcome: (i % 5 === 0 ? 'success' : 'failure') as AuditOutcome,
    reason: i % 5 === 0 ? null : 'Incorrect username or password'
  }))
  await new AuditStore(built.app.db).insertMany(records)
  return records
}

async function setup (t: TestContext): Promise<{ built: Built, get: (query: string) => Promise<{ status: number, body: Page & { error?: string } }> }> {
  const built = await build(t)
  // Whatever logging in records is written before the seeded rows, so their ids come after it.
  const token = await loginAdmin(built)
  await built.app.auditLog.flush()
  await seed(built)
  const get = async (query: string): Promise<{ status: number, body: Page & { error?: string } }> => {
    const res = await call(built, token, { method: 'GET', url: `/admin/audit${query}` })
    return { status: res.statusCode, body: res.json() }
  }
  return { built, get }
}

t.test('newest first, default limit 50, every field of the event', async (t) => {
  const { built, get } = await setup(t)
  built.app.audit.record({ kind: 'revoke', username: null, ip: '192.0.2.1', userAgent: 'ua', outcome: 'success', reason: null })
  await built.app.auditLog.flush()
  const { status, body } = await get('')
  t.equal(status, 200)
  t.match(body.items[0], { kind: 'revoke', username: null, ip: '192.0.2.1', userAgent: 'ua', outcome: 'success', reason: null, at: String, id: Number })
  t.equal(body.items[1]?.ip, '10.0.0.29')
  t.same(body.items.slice(1, 31).map((i) => i.ip), Array.from({ length: 30 }, (_, i) => `10.0.0.${29 - i}`), 'then the seeded rows')
  t.equal(body.next, null, 'everything fits the default page of 50')
  const ids = body.items.map((i) => i.id)
  t.same(ids, [...ids].sort((a, b) => b - a), 'ids descend')
})

t.test('filters: user, outcome, kind and time, combined', async (t) => {
  const { get } = await setup(t)
  const ips = (page: Page): string[] => page.items.map((i) => i.ip)
  const mallory = await get('?user=mallory')
  t.equal(mallory.body.items.length, 15)
  t.ok(mallory.body.items.every((i) => i.username === 'mallory'))
  const successes = await get('?outcome=success&to=2025-01-02')
  t.same(ips(successes.body), ['10.0.0.25', '10.0.0.20', '10.0.0.15', '10.0.0.10', '10.0.0.5', '10.0.0.0'])
  const ws = await get('?kind=ws_auth&user=alice')
  t.same(ips(ws.body), ['10.0.0.28', '10.0.0.22', '10.0.0.16', '10.0.0.10', '10.0.0.4'])
  const window = await get('?from=2025-01-01T00:10:00Z&to=2025-01-01T00:13:00Z')
  t.same(ips(window.body), ['10.0.0.12', '10.0.0.11', '10.0.0.10'], 'from inclusive, to exclusive')
  const offset = await get(`?from=${encodeURIComponent('2025-01-01T01:10:00+01:00')}&to=2025-01-01T00:11:00.000Z`)
  t.same(ips(offset.body), ['10.0.0.10'], 'zone offsets are normalised to UTC')
  const day = await get('?from=2025-01-01&to=2025-01-02')
  t.equal(day.body.items.length, 30, 'a date alone is midnight UTC')
  const none = await get('?user=nobody')
  t.same(none.body, { items: [], next: null })
})

t.test('keyset paging with before walks every row once', async (t) => {
  const { get } = await setup(t)
  const seen: string[] = []
  let cursor: number | null = null
  let pages = 0
  do {
    const res: { status: number, body: Page } = await get(`?user=alice&limit=4${cursor === null ? '' : `&before=${cursor}`}`)
    t.equal(res.status, 200)
    t.ok(res.body.items.length <= 4)
    seen.push(...res.body.items.map((i) => i.ip))
    cursor = res.body.next
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 4, '15 rows in pages of 4')
  t.same(seen, Array.from({ length: 15 }, (_, i) => `10.0.0.${28 - 2 * i}`), 'newest first, no gaps, no repeats')
  const exact = await get('?user=alice&limit=15')
  t.equal(exact.body.next, null, 'no cursor when the last page is exactly full')
  const big = await get('?limit=500')
  t.equal(big.status, 200)
})

t.test('bad query parameters are 400 invalid_request', async (t) => {
  const { get } = await setup(t)
  for (const query of ['?limit=0', '?limit=501', '?limit=abc', '?limit=1.5', '?before=0', '?before=x', '?outcome=maybe', '?kind=login',
    '?from=yesterday', '?from=2025-01-01T00:00:00', '?to=2025-13-45T99:99:99Z', '?limit=5&limit=6']) {
    const res = await get(query)
    t.equal(res.status, 400, query)
    t.equal(res.body.error, 'invalid_request', query)
  }
})

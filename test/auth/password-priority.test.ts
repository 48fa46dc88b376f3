import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { PasswordHasher } from '../../src/auth/passwords.js'

/** Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (after the command in parentheses). */
function niceOf (tid: string): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[16])
}

t.test('bcrypt threads run at the lowest priority; the event loop thread does not', async (t) => {
  const hasher = await PasswordHasher.create({ cost: 4, size: 2 })
  t.teardown(async () => { await hasher.close() })
  await Promise.all([hasher.hash('a-password'), hasher.hash('b-password')])
  const threads = readdirSync(`/proc/${process.pid}/task`)
  const niced = threads.filter((tid) => niceOf(tid) === 19)
  t.ok(niced.length >= 2, `the two bcrypt workers are niced (found ${niced.length})`)
  t.equal(niceOf(String(process.pid)), 0, 'the main thread keeps normal priority')
})

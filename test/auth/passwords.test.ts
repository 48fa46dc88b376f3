import { readdirSync, readFileSync } from 'node:fs'
import type { Worker } from 'node:worker_threads'
import { compareSync, getRounds } from 'bcryptjs'
import Fastify from 'fastify'
import t from 'tap'
import { MAX_PASSWORD_BYTES, PasswordHasher, passwordProblem } from '../../src/auth/passwords.js'
import passwordsPlugin from '../../src/plugins/passwords.js'
import type { TestContext } from '../helper.js'

async function hasher (t: TestContext, options: Parameters<typeof PasswordHasher.create>[0]): Promise<PasswordHasher> {
  const h = await PasswordHasher.create(options)
  t.teardown(async () => { await h.close() })
  return h
}

/** Reaches into the pool: workers never die on bad input, so a test kills one from outside. */
function workersOf (h: PasswordHasher): Set<{ worker: Worker }> {
  return (h as unknown as { slots: Set<{ worker: Worker }> }).slots
}

/** Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (after the command in parentheses). */
function niceOf (tid: string): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[16])
}

function threadIds (): string[] {
  return readdirSync(`/proc/${process.pid}/task`)
}

// Starting a pool costs a worker thread each: the tests that only need a
// working pool share this one. Tests that count from zero, kill a worker or
// close the pool make their own. The threads it starts are noted for the
// priority test: other pools' workers are niced too.
const threadsBefore = new Set(threadIds())
const shared = await hasher(t, { cost: 4, size: 2 })
const sharedThreads = threadIds().filter((tid) => !threadsBefore.has(tid))

t.test('hash and verify round trip', async (t) => {
  const hash = await shared.hash('correct horse')
  t.match(hash, /^\$2b\$04\$[./A-Za-z0-9]{53}$/)
  t.equal(await shared.verify('correct horse', hash), true)
  t.equal(await shared.verify('wrong horse', hash), false)
  t.not(await shared.hash('correct horse'), hash, 'each hash has its own salt')
})

t.test('a malformed hash verifies false without throwing', async (t) => {
  for (const bad of ['', 'nope', '$2b$04$short', `$2b$04$${'!'.repeat(53)}`, `$2b$99$${'a'.repeat(53)}`]) {
    t.equal(await shared.verify('x', bad), false, JSON.stringify(bad))
  }
})

t.test('passwordProblem', async (t) => {
  t.equal(MAX_PASSWORD_BYTES, 72)
  t.match(passwordProblem(''), /empty/)
  t.equal(passwordProblem('a'), undefined)
  t.equal(passwordProblem('a'.repeat(72)), undefined, '72 bytes is fine')
  t.match(passwordProblem('a'.repeat(73)), /72 bytes/)
  // 25 × 3-byte characters = 75 bytes in only 25 UTF-16 units.
  t.match(passwordProblem('€'.repeat(25)), /72 bytes.*got 75/)
  t.equal(passwordProblem('€'.repeat(24)), undefined, '72 bytes of multi-byte characters is fine')
})

t.test('hash refuses a password that may not be set', async (t) => {
  const calls = shared.calls
  await t.rejects(shared.hash('a'.repeat(73)), RangeError)
  await t.rejects(shared.hash(''), RangeError)
  t.equal(shared.calls, calls, 'nothing reached bcrypt')
})

t.test('with a fresh cost-6 pool', async (t) => {
  const h = await hasher(t, { cost: 6, size: 1 })

  t.test('calls counts every bcrypt operation requested', async (t) => {
    t.equal(h.calls, 0, 'the dummy hash made at start-up is not counted')
    const hash = await h.hash('pw')
    await h.verify('pw', hash)
    await h.verifyUnknownUser('pw')
    t.equal(h.calls, 3)
  })

  t.test('verifyUnknownUser spends a real compare against a real hash of the configured cost', async (t) => {
    // Proven from the structure rather than with a stopwatch, which a busy
    // machine makes flaky: bcrypt's time is set by the cost written in the
    // hash it compares against, so a full compare against a valid hash of the
    // same cost as a stored one costs what a wrong password costs.
    const stored = await h.hash('secret')
    const calls = h.calls
    t.equal(await h.verifyUnknownUser('guess'), false)
    t.equal(h.calls, calls + 1, 'one compare was sent to a worker (a malformed hash is answered before that)')
    const dummy = (h as unknown as { dummyHash: unknown }).dummyHash
    if (typeof dummy !== 'string') throw new Error('the pool keeps no dummy hash under that name any more: update this test')
    t.match(dummy, /^\$2b\$06\$[./A-Za-z0-9]{53}$/, 'the dummy is a bcrypt hash of the configured cost')
    t.equal(getRounds(dummy), getRounds(stored), 'the same cost as a stored hash')
    t.equal(compareSync('guess', dummy), false, 'bcrypt accepts it, so the compare runs in full instead of failing fast')
  })
})

t.test('requests beyond the pool size queue and all resolve', async (t) => {
  t.equal(shared.size, 2)
  const calls = shared.calls
  const hashes = await Promise.all(Array.from({ length: 12 }, async (_, i) => await shared.hash(`pw${i}`)))
  t.equal(new Set(hashes).size, 12)
  const results = await Promise.all(hashes.map(async (hash, i) => await shared.verify(`pw${i}`, hash)))
  t.same(results, Array(12).fill(true))
  t.equal(shared.calls - calls, 24)
})

t.test('bcrypt threads run at the lowest priority; the event loop thread does not', async (t) => {
  await Promise.all([shared.hash('a-password'), shared.hash('b-password')])
  const niced = sharedThreads.filter((tid) => niceOf(tid) === 19)
  t.ok(niced.length >= 2, `the shared pool's two bcrypt workers are niced (threads it started: ${sharedThreads.length})`)
  t.equal(niceOf(String(process.pid)), 0, 'the main thread keeps normal priority')
})

t.test('nice 0 (BCRYPT_NICE=0) leaves the bcrypt threads at normal priority', async (t) => {
  const before = new Set(threadIds())
  const normal = await hasher(t, { cost: 4, size: 1, nice: 0 })
  await normal.hash('a-password')
  const started = threadIds().filter((tid) => !before.has(tid))
  t.ok(started.length >= 1, 'the pool started a thread')
  t.same(started.map(niceOf).filter((n) => n !== 0), [], 'none of its threads is niced')
  await t.rejects(PasswordHasher.create({ cost: 4, nice: 20 }), RangeError)
})

t.test('with a cost-8 pool', async (t) => {
  // Cost 8 (some 15 ms of CPU a hash, on a thread at the lowest priority) so
  // that a hash is still running when the test looks: at a 1 ms timer tick,
  // or at a worker killed right after it was handed the job.
  const slow = await hasher(t, { cost: 8, size: 1 })

  t.test('the event loop keeps ticking while bcrypt runs', async (t) => {
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 1)
    try {
      await slow.hash('busy')
    } finally {
      clearInterval(timer)
    }
    t.ok(ticks >= 1, `${ticks} ticks during a cost-8 hash`)
  })

  t.test('a dead worker fails its own request and is replaced', async (t) => {
    const slots = workersOf(slow)
    const inFlight = slow.hash('slow')
    const [slot] = [...slots]
    t.ok(slot)
    await slot?.worker.terminate()
    await t.rejects(inFlight, /password worker died/)
    const hash = await shared.hash('after')
    t.equal(await slow.verify('after', hash), true, 'the replacement worker answers')
    t.equal(slots.size, 1)
  })
})

t.test('close rejects pending and later requests', async (t) => {
  const h = await PasswordHasher.create({ cost: 4, size: 1 })
  // Both requests are handed over synchronously, so at close one is running in
  // the worker and one is queued, however fast bcrypt is.
  const inFlight = t.rejects(h.hash('never'), /closed/)
  const queued = t.rejects(h.hash('never either'), /closed/)
  await h.close()
  await inFlight
  await queued
  await t.rejects(h.hash('later'), /closed/)
  await t.rejects(h.verify('later', '$2b$04$' + 'a'.repeat(53)), /closed/)
})

t.test('close holds the process open until its workers have exited', async (t) => {
  // An idle pool lets the process end (its workers are unref'd); a closing one
  // must not, or a caller awaiting close would never run its next steps.
  const h = await PasswordHasher.create({ cost: 4, size: 1 })
  await h.hash('a reply handled: the worker is idle and unref\'d again')
  const held = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length
  const idle = held()
  const closing = h.close()
  t.equal(held(), idle + 1, 'the worker holds the process while it exits')
  await closing
  t.equal(held(), idle, 'and lets go once it has')
})

t.test('create refuses bad options', async (t) => {
  await t.rejects(PasswordHasher.create({ cost: 3 }), RangeError)
  await t.rejects(PasswordHasher.create({ cost: 4, size: 0 }), RangeError)
})

t.test('the plugin decorates passwords and closes the pool with the app', async (t) => {
  const app = Fastify()
  await app.register(passwordsPlugin, { cost: 4, size: 1 })
  await app.ready()
  const hash = await app.passwords.hash('pw')
  t.equal(await app.passwords.verify('pw', hash), true)
  await app.close()
  await t.rejects(app.passwords.hash('pw'), /closed/)
})

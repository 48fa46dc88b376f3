import { performance } from 'node:perf_hooks'
import type { Worker } from 'node:worker_threads'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { MAX_PASSWORD_BYTES, PasswordHasher, passwordProblem } from '../../src/auth/passwords.js'
import passwordsPlugin from '../../src/plugins/passwords.js'

async function hasher (t: Test, options: { cost: number, size?: number }): Promise<PasswordHasher> {
  const h = await PasswordHasher.create(options)
  t.teardown(async () => { await h.close() })
  return h
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

async function elapsed (fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

t.test('hash and verify round trip', async (t) => {
  const h = await hasher(t, { cost: 4 })
  const hash = await h.hash('correct horse')
  t.match(hash, /^\$2b\$04\$[./A-Za-z0-9]{53}$/)
  t.equal(await h.verify('correct horse', hash), true)
  t.equal(await h.verify('wrong horse', hash), false)
  t.not(await h.hash('correct horse'), hash, 'each hash has its own salt')
})

t.test('a malformed hash verifies false without throwing', async (t) => {
  const h = await hasher(t, { cost: 4 })
  for (const bad of ['', 'nope', '$2b$04$short', `$2b$04$${'!'.repeat(53)}`, `$2b$99$${'a'.repeat(53)}`]) {
    t.equal(await h.verify('x', bad), false, JSON.stringify(bad))
  }
})

t.test('verifyUnknownUser returns false and costs about what a wrong password costs', async (t) => {
  const h = await hasher(t, { cost: 8, size: 1 })
  const known = await h.hash('secret')
  const wrong: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < 5; i++) {
    wrong.push(await elapsed(async () => await h.verify('guess', known)))
    unknown.push(await elapsed(async () => t.equal(await h.verifyUnknownUser('guess'), false)))
  }
  t.ok(median(unknown) >= 0.3 * median(wrong), `unknown ${median(unknown).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`)
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
  const h = await hasher(t, { cost: 4 })
  await t.rejects(h.hash('a'.repeat(73)), RangeError)
  await t.rejects(h.hash(''), RangeError)
  t.equal(h.calls, 0, 'nothing reached bcrypt')
})

t.test('calls counts every bcrypt operation requested', async (t) => {
  const h = await hasher(t, { cost: 4 })
  t.equal(h.calls, 0, 'the dummy hash is not counted')
  const hash = await h.hash('pw')
  await h.verify('pw', hash)
  await h.verifyUnknownUser('pw')
  t.equal(h.calls, 3)
})

t.test('requests beyond the pool size queue and all resolve', async (t) => {
  const h = await hasher(t, { cost: 4, size: 2 })
  const hashes = await Promise.all(Array.from({ length: 12 }, async (_, i) => await h.hash(`pw${i}`)))
  t.equal(new Set(hashes).size, 12)
  const results = await Promise.all(hashes.map(async (hash, i) => await h.verify(`pw${i}`, hash)))
  t.same(results, Array(12).fill(true))
  t.equal(h.calls, 24)
})

t.test('the event loop keeps ticking while bcrypt runs', async (t) => {
  const h = await hasher(t, { cost: 10, size: 1 })
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  try {
    await h.hash('busy')
  } finally {
    clearInterval(timer)
  }
  t.ok(ticks >= 1, `${ticks} ticks during a cost-10 hash`)
})

t.test('a dead worker fails its own request and is replaced', async (t) => {
  const h = await hasher(t, { cost: 10, size: 1 })
  // Reach into the pool: workers never die on bad input, so kill one from outside.
  const slots = (h as unknown as { slots: Set<{ worker: Worker }> }).slots
  const inFlight = h.hash('slow')
  const [slot] = [...slots]
  t.ok(slot)
  await slot?.worker.terminate()
  await t.rejects(inFlight, /password worker died/)
  const fast = await PasswordHasher.create({ cost: 4, size: 1 })
  t.teardown(async () => { await fast.close() })
  const hash = await fast.hash('after')
  t.equal(await h.verify('after', hash), true, 'the replacement worker answers')
  t.equal(slots.size, 1)
})

t.test('close rejects pending and later requests', async (t) => {
  const h = await PasswordHasher.create({ cost: 10, size: 1 })
  const inFlight = t.rejects(h.hash('never'), /closed/)
  const queued = t.rejects(h.hash('never either'), /closed/)
  await h.close()
  await inFlight
  await queued
  await t.rejects(h.hash('later'), /closed/)
  await t.rejects(h.verify('later', '$2b$04$' + 'a'.repeat(53)), /closed/)
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

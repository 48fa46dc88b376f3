// @ts-check
// Plain JavaScript on purpose: a worker thread does not inherit tsx's loader
// on Node 20, and bootstrapping tsx in every worker cost ~0.4 s per thread.
// tsc still checks this file (checkJs) and copies it to dist/ unchanged.
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import bcrypt from 'bcryptjs'

/** @typedef {import('./password-jobs.js').PasswordJob} PasswordJob */
/** @typedef {import('./password-jobs.js').PasswordReply} PasswordReply */

/**
 * One bcrypt job at a time, off the event loop. The pool hands a worker a new
 * job only after the previous reply, so the sync bcryptjs calls are fine here
 * and faster than the chunked async ones.
 * @param {PasswordJob} job
 * @returns {PasswordReply}
 */
function run (job) {
  try {
    const value = job.op === 'hash'
      ? bcrypt.hashSync(job.password, job.cost)
      : bcrypt.compareSync(job.password, job.hash)
    return { type: 'result', id: job.id, value }
  } catch (err) {
    // A bad salt or hash must cost the caller one rejected request, not the worker.
    return { type: 'error', id: job.id, message: err instanceof Error ? err.message : String(err) }
  }
}

const port = parentPort
if (port === null) throw new Error('password-worker must be started as a worker thread')

// On Linux a nice value belongs to the thread that sets it: lowering this
// one's keeps a login storm from taking CPU from the event loop that fans
// out messages, while bcrypt still uses every core the hub leaves idle.
// BCRYPT_NICE=0 turns it off (a test suite on a busy machine wants its logins now).
/** @type {number} */
const nice = typeof workerData?.nice === 'number' ? workerData.nice : 19
try {
  if (nice !== 0) setPriority(nice)
} catch {
  // Not permitted or not supported here: run at normal priority.
}

port.on('message', (/** @type {PasswordJob} */ job) => {
  port.postMessage(run(job))
})
port.postMessage(/** @type {PasswordReply} */ ({ type: 'ready' }))

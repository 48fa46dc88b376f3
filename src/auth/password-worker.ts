import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import bcrypt from 'bcryptjs'

/**
 * One bcrypt job at a time, off the event loop. The pool in passwords.ts
 * hands a worker a new job only after the previous reply, so the sync
 * bcryptjs calls are fine here and faster than the chunked async ones.
 */

export type PasswordJob =
  | { readonly id: number, readonly op: 'hash', readonly password: string, readonly cost: number }
  | { readonly id: number, readonly op: 'compare', readonly password: string, readonly hash: string }

export type PasswordReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result', readonly id: number, readonly value: string | boolean }
  | { readonly type: 'error', readonly id: number, readonly message: string }

function run (job: PasswordJob): PasswordReply {
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
try {
  setPriority(19)
} catch {
  // Not permitted or not supported here: run at normal priority.
}

port.on('message', (job: PasswordJob) => {
  port.postMessage(run(job))
})
port.postMessage({ type: 'ready' } satisfies PasswordReply)

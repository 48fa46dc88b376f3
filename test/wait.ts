import { setTimeout as delay } from 'node:timers/promises'

/**
 * How often a condition is looked at again. Only for state nothing announces
 * (an HTTP status, a count in another process, a page's DOM): a test with
 * an event to wait on waits on the event instead.
 */
const POLL_MS = 10

/**
 * Resolves once `predicate` holds, and fails naming `what` if it does not
 * within `timeoutMs`: the one polling loop of the suite, so every test that
 * needs one waits the same way, with a deadline and never a fixed sleep.
 */
export async function waitFor (predicate: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await delay(POLL_MS)
  }
}

/**
 * What a test client has received and not read yet: items are queued until a
 * test reads them, and a read waits for the next one with a deadline. The
 * /ws, Socket.IO and raw Engine.IO test clients all read through one.
 */
export class Inbox<T> {
  /** Received and not read yet, oldest first. */
  readonly unread: T[] = []
  private waiters: Array<(item: T) => void> = []

  /** `noun` names an item in the timeout's message ("no message within 3000 ms"). */
  constructor (private readonly noun: string) {}

  push (item: T): void {
    const waiter = this.waiters.shift()
    if (waiter !== undefined) waiter(item)
    else this.unread.push(item)
  }

  async next (timeoutMs: number): Promise<T> {
    const queued = this.unread.shift()
    if (queued !== undefined) return queued
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`no ${this.noun} within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = (item: T): void => {
        clearTimeout(timer)
        resolve(item)
      }
      this.waiters.push(waiter)
    })
  }

  /** The items before the first one `marker` accepts, and that one (all read), within `timeoutMs` in all. */
  async upTo (marker: (item: T) => boolean, timeoutMs: number): Promise<{ before: T[], found: T }> {
    const before: T[] = []
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const item = await this.next(Math.max(1, deadline - Date.now()))
      if (marker(item)) return { before, found: item }
      before.push(item)
    }
  }
}

/** Resolves as `promise` does, or rejects with `what` if it has not settled within `timeoutMs`. */
export async function within<T> (promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} after ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

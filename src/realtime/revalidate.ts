import type { FastifyBaseLogger } from 'fastify'
import { TEST_SESSION_ID } from '../auth/tokens.js'
import type { SessionStore } from '../store/sessions.js'
import type { UserStore } from '../store/users.js'
import type { Hub } from './hub.js'
import { Close } from '../protocol/index.js'

/** Keeps each `IN (…)` list well under every engine's bound-parameter limit. */
const CHUNK = 500

function chunks<T> (items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

/**
 * Revocations normally arrive as broker events at once. This sweep is the
 * safety net for events this server did not hear (the users CLI is another
 * process, which the in-process broker does not reach; a broker link that was
 * down) and asks the database, in two batched queries, which of the open sessions
 * and users are still good.
 */
export async function revalidate (hub: Hub, sessions: SessionStore, users: UserStore): Promise<number> {
  let closed = 0
  const sids = [...hub.sessionIds()].filter((sid) => sid !== TEST_SESSION_ID)
  for (const batch of chunks(sids)) {
    for (const sid of await sessions.inactiveAmong(batch)) closed += hub.closeSession(sid, Close.sessionRevoked)
  }
  for (const batch of chunks([...hub.usernames()])) {
    for (const username of await users.inactiveAmong(batch)) closed += hub.closeUser(username, Close.sessionRevoked)
  }
  return closed
}

export interface Revalidation {
  /** Sweeps at once, e.g. after a broker outage in which revocation events may have been missed. */
  now (): void
  stop (): void
}

export function startRevalidation (hub: Hub, sessions: SessionStore, users: UserStore, intervalMs: number, log: FastifyBaseLogger): Revalidation {
  let running = false
  // Asked for while a sweep ran: that sweep may have read the database before the change it must see.
  let again = false
  const sweep = (): void => {
    if (running) {
      again = true
      return
    }
    if (hub.size === 0) return
    running = true
    revalidate(hub, sessions, users).then((closed) => {
      if (closed > 0) log.info({ closed }, 'closed sockets of revoked sessions or disabled users')
    }, (err: unknown) => {
      log.error({ err }, 'socket revalidation failed')
    }).finally(() => {
      running = false
      if (again) {
        again = false
        sweep()
      }
    })
  }
  const timer = setInterval(sweep, intervalMs)
  timer.unref()
  return { now: sweep, stop: () => { clearInterval(timer) } }
}

import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { waitFor, type Built } from '../helper.js'
import type { AuditKind } from '../../src/audit/events.js'
import type { AuditEntry } from '../../src/store/audit.js'

export const ROOT = { username: 'root', password: 'root-password' }

/** Creates the admin `root` straight in the store and logs in as it. */
export async function loginAdmin (built: Built): Promise<string> {
  await built.app.users.create({ username: ROOT.username, passwordHash: await built.app.passwords.hash(ROOT.password), roles: ['admin'] })
  return await loginRoot(built)
}

/** Logs in as an existing `root`, e.g. after a restart. */
export async function loginRoot (built: Built): Promise<string> {
  return (await built.login(ROOT.username, ROOT.password)).access_token
}

/** `inject` with a bearer token and a recognisable user agent. */
export async function call (built: Built, token: string | undefined, options: InjectOptions): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'user-agent': 'admin-test/1.0' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  return await built.app.inject({ ...options, headers: { ...headers, ...(options.headers as Record<string, string> | undefined) } })
}

/** One item of `GET /admin/audit`: the stored entry, as JSON. */
export type AuditItem = AuditEntry

/**
 * The id of the newest audit row, once everything buffered is written. Tests
 * that share an app take it first and read only the rows after it: their own.
 */
export async function auditMark (built: Built): Promise<number> {
  await built.app.auditLog.flush()
  return (await built.app.auditQuery.page({ limit: 1 })).items[0]?.id ?? 0
}

/** The rows of a kind after `since` (see auditMark), oldest first, after writing whatever is buffered. */
export async function auditSince (built: Built, kind: AuditKind, since = 0): Promise<AuditItem[]> {
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind, limit: 500 })
  return page.items.filter((item) => item.id > since).reverse()
}

/** The admin_action rows after `since`, oldest first. */
export async function adminActions (built: Built, since = 0): Promise<AuditItem[]> {
  return await auditSince(built, 'admin_action', since)
}

/**
 * Waits until the server has let go of every socket: a client's close event
 * can come before the server's, and a test that counts connections on a
 * shared app must not see the previous test's.
 */
export async function noSockets (built: Built): Promise<void> {
  await waitFor(() => built.app.hub.size === 0, 5000, 'the server to release every socket')
}

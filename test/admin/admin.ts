import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Built } from '../helper.js'
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

/** The admin_action rows, oldest first, after writing whatever is buffered. */
export async function adminActions (built: Built): Promise<AuditItem[]> {
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind: 'admin_action', limit: 500 })
  return [...page.items].reverse()
}

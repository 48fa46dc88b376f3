import type { IncomingHttpHeaders } from 'node:http'
import { findCredentials, type Credentials } from '../auth/credentials.js'

/** `auth`: the token came in the handshake's `auth` object (`io(url, { auth: { token } })`). */
export type HandshakeCredentials = Credentials | { readonly kind: 'auth', readonly token: string }

/** The query string of a request URL, a name given twice kept as a list (so it counts as ambiguous). */
function queryOf (url: string | undefined): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  const at = url?.indexOf('?') ?? -1
  if (url === undefined || at < 0) return query
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    const seen = query[name]
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]
  }
  return query
}

/**
 * A Socket.IO handshake's token, first found wins: `auth.token`, then the
 * places `/ws` reads (`token` or `access_token` in the query, then
 * `Authorization: Bearer`). An `auth.token` that is not a non-empty string
 * counts as absent, so `auth: { token: null }` is a missing token.
 */
export function handshakeCredentials (auth: unknown, url: string | undefined, headers: IncomingHttpHeaders): HandshakeCredentials {
  if (typeof auth === 'object' && auth !== null) {
    const { token } = auth as Record<string, unknown>
    if (typeof token === 'string' && token !== '') return { kind: 'auth', token }
  }
  return findCredentials(queryOf(url), headers)
}

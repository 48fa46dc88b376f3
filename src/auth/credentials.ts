import type { IncomingHttpHeaders } from 'node:http'
import { BEARER_SUBPROTOCOL } from '../protocol/index.js'

export type CredentialSource = 'query' | 'header' | 'subprotocol'

/**
 * `ambiguous` is a request that names a token twice in one place
 * (`?token=a&token=b`): refused rather than guessing which one was meant.
 */
export type Credentials =
  | { readonly kind: 'found', readonly token: string, readonly source: CredentialSource }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous' }

const NONE: Credentials = { kind: 'none' }
const AMBIGUOUS: Credentials = { kind: 'ambiguous' }
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/** `Authorization: Bearer <token>` → the token; anything else → undefined. */
export function bearerToken (authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined
  return BEARER.exec(authorization)?.[1]
}

/** The tokens offered as `Sec-WebSocket-Protocol: bearer, <jwt>`. */
export function subprotocolToken (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const offered = header.split(',').map((p) => p.trim())
  const at = offered.indexOf(BEARER_SUBPROTOCOL)
  if (at === -1) return undefined
  const token = offered[at + 1]
  return token === undefined || token === '' ? undefined : token
}

function fromQuery (query: unknown): Credentials {
  if (typeof query !== 'object' || query === null) return NONE
  const q = query as Record<string, unknown>
  for (const name of ['token', 'access_token']) {
    const value = q[name]
    if (Array.isArray(value)) return AMBIGUOUS
    if (typeof value === 'string' && value !== '') return { kind: 'found', token: value, source: 'query' }
  }
  return NONE
}

/**
 * Finds the credentials of a WebSocket upgrade, first found wins:
 * query string, then Authorization header, then subprotocol (the order the protocol documents).
 */
export function findCredentials (query: unknown, headers: IncomingHttpHeaders): Credentials {
  const inQuery = fromQuery(query)
  if (inQuery.kind !== 'none') return inQuery
  const inHeader = bearerToken(headers.authorization)
  if (inHeader !== undefined) return { kind: 'found', token: inHeader, source: 'header' }
  const inProtocol = subprotocolToken(headers['sec-websocket-protocol'])
  if (inProtocol !== undefined) return { kind: 'found', token: inProtocol, source: 'subprotocol' }
  return NONE
}

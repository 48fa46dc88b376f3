import { createHmac } from 'node:crypto'
import { TEST_SECRET } from '../helper.js'

export interface ForgeOptions {
  /** The `alg` header and the HMAC used: HS256 (default), HS384, HS512 or `none` (empty signature). */
  alg?: string
  /** Defaults to the secret of test/helper.ts. */
  secret?: string
  /** Extra header fields, merged over `{ alg, typ: 'JWT' }`. */
  header?: object
}

const HMAC: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

export function base64url (value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** The current time in Unix seconds, as JWT claims count it. */
export function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

/** A JWT built by hand, so that tests can make every kind the server must refuse. */
export function forgeToken (payload: object, options: ForgeOptions = {}): string {
  const alg = options.alg ?? 'HS256'
  const header = { alg, typ: 'JWT', ...options.header }
  const signingInput = `${base64url(header)}.${base64url(payload)}`
  if (alg === 'none') return `${signingInput}.`
  const hash = HMAC[alg]
  if (hash === undefined) throw new Error(`forgeToken cannot sign with ${alg}`)
  const signature = createHmac(hash, options.secret ?? TEST_SECRET).update(signingInput).digest('base64url')
  return `${signingInput}.${signature}`
}

/** The decoded JSON of one part of a JWT: 0 for the header, 1 for the payload. */
export function decodeJwtPart (token: string, part: 0 | 1): Record<string, unknown> {
  const segment = token.split('.')[part]
  if (segment === undefined) throw new Error('not a JWT')
  const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('JWT part is not an object')
  return value as Record<string, unknown>
}

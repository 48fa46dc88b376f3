/** Text conversions between the terminal and the socket, kept apart so that they stay testable. */
import type { RawData } from 'ws'
import { ReservedType } from '../../src/protocol/index.js'

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable'
}

function codeOf (err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const { code, cause } = err as { code?: unknown, cause?: unknown }
  // fetch wraps the socket error: `TypeError: fetch failed` with the errno error as its cause.
  return typeof code === 'string' ? code : codeOf(cause)
}

/** TLS failures carry OpenSSL's codes rather than an errno. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/

/**
 * Whether the connection itself failed (errno, TLS, timeout), as opposed to
 * a server that answered with something unexpected.
 */
export function isNetworkError (err: unknown): boolean {
  const code = codeOf(err)
  if (code !== undefined && (/^E[A-Z]+$/.test(code) || TLS_CODE.test(code))) return true
  if (err instanceof Error && err.name === 'TimeoutError') return true
  // ws's own handshake timer (handshakeTimeout) raises a plain Error.
  if (err instanceof Error && err.message === 'Opening handshake has timed out') return true
  return err instanceof Error && err.cause !== undefined && isNetworkError(err.cause)
}

/** A short reason for a failed connection: `connection refused` rather than a stack. */
export function describeNetworkError (err: unknown): string {
  const code = codeOf(err)
  if (code !== undefined && NETWORK_ERRORS[code] !== undefined) return NETWORK_ERRORS[code]
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out'
  // `fetch failed` says nothing; its cause (`bad port`, a TLS error...) does.
  if (err instanceof Error && err.cause instanceof Error) return describeNetworkError(err.cause)
  const message = err instanceof Error ? err.message : String(err)
  return code === undefined ? message : `${message} (${code})`
}

function isJsonObject (line: string): boolean {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}

/** The frame for one stdin line, or undefined for a blank line. */
export function frameFor (line: string): string | undefined {
  if (line.trim() === '') return undefined
  if (isJsonObject(line)) return line
  return JSON.stringify({ type: 'message', payload: { text: line } })
}

/** One stdout line per message: the text as received, compacted only when it spans lines. */
export function lineFor (text: string): string {
  if (!/[\r\n]/.test(text)) return text
  try {
    return JSON.stringify(JSON.parse(text))
  } catch {
    return text
  }
}

/**
 * Masks the token in anything printed, whatever library wrote the message.
 * Short values are left alone: masking `token` would garble `Invalid token`.
 */
export function redactor (secret: string | undefined): (text: string) => string {
  if (secret === undefined || secret.length < 8) return (text) => text
  return (text) => text.split(secret).join('***')
}

/** The URL as it may be printed: without a token in its query string or a password in its authority. */
export function printableUrl (url: URL): string {
  const copy = new URL(url)
  for (const name of ['token', 'access_token']) {
    if (copy.searchParams.has(name)) copy.searchParams.set(name, '***')
  }
  if (copy.password !== '') copy.password = '***'
  return copy.href
}

/** A text frame's payload, however ws delivered it. */
export function textOf (data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** Whether a frame tells a pending socket that it may now send. */
export function isAuthenticated (text: string): boolean {
  try {
    const type: unknown = (JSON.parse(text) as { type?: unknown }).type
    return type === ReservedType.authenticated || type === ReservedType.connectionEstablished
  } catch {
    return false
  }
}

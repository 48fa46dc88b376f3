/** Text conversions between the terminal and the socket, kept apart so that they stay testable. */

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

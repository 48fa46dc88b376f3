/**
 * Reads a JWT's claims without verifying it: the client only needs `exp`
 * and `sub` to schedule refreshes and label the UI; the server verifies.
 */
export function decodeClaims (token: string): Record<string, unknown> | undefined {
  const segment = token.split('.')[1]
  if (segment === undefined || segment === '') return undefined
  try {
    const base64 = segment.replace(/-/g, '+').replace(/_/g, '/')
    const binary = atob(base64 + '='.repeat((4 - base64.length % 4) % 4))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** `exp` in Unix seconds, or null for a token without one (the test token). */
export function tokenExpiry (token: string): number | null {
  const exp = decodeClaims(token)?.exp
  return typeof exp === 'number' ? exp : null
}

/** The same mask the server logs with: enough to tell tokens apart, never enough to use one. */
export function maskToken (token: string): string {
  if (token.length <= 12) return '***'
  return `${token.slice(0, 4)}…${token.slice(-4)}`
}

const SECRET_FIELDS: ReadonlySet<string> = new Set(['token', 'access_token', 'refresh_token', 'test_token', 'password'])

/** A copy of a message with every token-like field masked, for logs and screens. */
export function maskSecrets (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    if (key === 'password') out[key] = '***'
    else out[key] = SECRET_FIELDS.has(key) && typeof field === 'string' ? maskToken(field) : maskSecrets(field)
  }
  return out
}

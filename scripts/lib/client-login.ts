import { describeNetworkError } from './client-io.js'

/** The login was refused or the endpoint could not be reached; exit 1. */
export class LoginError extends Error {
  override name = 'LoginError'
}

function field (body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** OAuth2 password grant against wsgate's `/token`; resolves with the access token. */
export async function login (tokenUrl: URL, username: string, password: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'password', username, password }),
      signal: AbortSignal.timeout(30_000)
    })
  } catch (err) {
    throw new LoginError(`cannot reach ${tokenUrl.origin}${tokenUrl.pathname}: ${describeNetworkError(err)}`)
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (response.status !== 200) {
    const description = field(body, 'error_description') ?? field(body, 'detail') ?? field(body, 'error') ?? response.statusText
    const retry = response.headers.get('retry-after')
    throw new LoginError(`login failed (${response.status}): ${description}${retry === null ? '' : ` (retry after ${retry} s)`}`)
  }
  const token = field(body, 'access_token')
  if (token === undefined) throw new LoginError('login failed: the response has no access_token')
  return token
}

/**
 * The HTTP half of the SDK: the OAuth2 token endpoint and Bearer requests.
 * `baseUrl` may be '' in a browser for same-origin requests; Node needs an
 * absolute URL such as `http://127.0.0.1:8000`.
 */

export interface TokenResponse {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token?: string
  scope?: string
}

/** An error answer from wsgate, in its RFC 6749 §5.2 shape. */
export class WsgateHttpError extends Error {
  constructor (
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly retryAfterSeconds?: number
  ) {
    super(`${status} ${error}: ${description}`)
    this.name = 'WsgateHttpError'
  }

  /** The credentials are refused for good: retrying cannot help, a person must log in. */
  get needsLogin (): boolean {
    return this.status === 400 || this.status === 401 || this.status === 403
  }
}

export function joinUrl (baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`
}

async function errorFrom (res: Response): Promise<WsgateHttpError> {
  let error = 'http_error'
  let description = res.statusText
  try {
    const body: unknown = await res.json()
    if (typeof body === 'object' && body !== null) {
      const fields = body as Record<string, unknown>
      if (typeof fields.error === 'string') error = fields.error
      if (typeof fields.error_description === 'string') description = fields.error_description
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the status line is all there is.
  }
  const retryAfter = Number(res.headers.get('retry-after'))
  return new WsgateHttpError(res.status, error, description, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined)
}

/** JSON in, JSON out; a non-2xx answer becomes a WsgateHttpError. */
export async function requestJson<T> (url: string, init: { method?: string, token?: string, json?: unknown, form?: Record<string, string> } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  let body: string | undefined
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  if (init.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(init.form).toString()
  } else if (init.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(init.json)
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  if (!res.ok) throw await errorFrom(res)
  if (res.status === 204) return undefined as T
  return await res.json() as T
}

/** Password grant. 401 `invalid_grant` for a wrong username or password. */
export async function login (baseUrl: string, username: string, password: string): Promise<TokenResponse> {
  return await requestJson<TokenResponse>(joinUrl(baseUrl, '/token'), { form: { grant_type: 'password', username, password } })
}

/** Refresh grant. The refresh token is rotated: use the new one from now on. */
export async function refresh (baseUrl: string, refreshToken: string): Promise<TokenResponse> {
  return await requestJson<TokenResponse>(joinUrl(baseUrl, '/token'), { form: { grant_type: 'refresh_token', refresh_token: refreshToken } })
}

/** RFC 7009: ends the token's whole session; its open sockets close with `Session revoked`. */
export async function revoke (baseUrl: string, token: string, hint?: 'refresh_token' | 'access_token'): Promise<void> {
  const form: Record<string, string> = { token }
  if (hint !== undefined) form.token_type_hint = hint
  await requestJson<unknown>(joinUrl(baseUrl, '/token/revoke'), { form })
}

/** The development token (404 when the server has them disabled). */
export async function fetchTestToken (baseUrl: string): Promise<string> {
  const body = await requestJson<{ test_token: string }>(joinUrl(baseUrl, '/test-token'))
  return body.test_token
}

export async function me (baseUrl: string, token: string): Promise<{ username: string, roles: string[] }> {
  return await requestJson(joinUrl(baseUrl, '/me'), { token })
}

import { ExitCode, type ExitCodeValue } from './client-exit.js'
import { describeNetworkError, isNetworkError } from './client-io.js'

/** The login did not yield a token; `exitCode` says whether it was refused, unreachable or broken. */
export class LoginError extends Error {
  override name = 'LoginError'
  constructor (message: string, readonly exitCode: ExitCodeValue) {
    super(message)
  }
}

/** RFC 6749 §5.2 answers (400, 401) and the throttle's 429: the server refused these credentials. */
const REFUSALS: ReadonlySet<number> = new Set([400, 401, 403, 429])

function field (body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** OAuth2 password grant against wsgate's `/token`; resolves with the access token. */
export async function login (tokenUrl: URL, username: string, password: string): Promise<string> {
  let response: Response
  let body: unknown
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'password', username, password }),
      signal: AbortSignal.timeout(30_000)
    })
    body = await response.json().catch(() => undefined)
  } catch (err) {
    const code = isNetworkError(err) ? ExitCode.network : ExitCode.failure
    throw new LoginError(`cannot reach ${tokenUrl.origin}${tokenUrl.pathname}: ${describeNetworkError(err)}`, code)
  }
  if (response.status !== 200) {
    const description = field(body, 'error_description') ?? field(body, 'detail') ?? field(body, 'error') ?? response.statusText
    const retry = response.headers.get('retry-after')
    const code = REFUSALS.has(response.status) ? ExitCode.loginRefused : ExitCode.failure
    throw new LoginError(`login failed (${response.status}): ${description}${retry === null ? '' : ` (retry after ${retry} s)`}`, code)
  }
  const token = field(body, 'access_token')
  if (token === undefined) throw new LoginError('login failed: the response has no access_token', ExitCode.failure)
  return token
}

/**
 * Every HTTP error the API answers with, by stable name. Bodies follow
 * RFC 6749 §5.2 (`error`, `error_description`) plus `detail` with the same
 * text, which clients written against FastAPI read.
 */

export interface ApiErrorSpec {
  readonly status: number
  readonly error: string
  readonly description: string
}

export const ApiErrors = {
  invalidRequest: { status: 400, error: 'invalid_request', description: 'The request is missing a parameter or is malformed' },
  invalidGrant: { status: 400, error: 'invalid_grant', description: 'The grant is invalid, expired or revoked' },
  badCredentials: { status: 401, error: 'invalid_grant', description: 'Incorrect username or password' },
  unsupportedGrantType: { status: 400, error: 'unsupported_grant_type', description: 'The grant type is not supported' },
  invalidToken: { status: 401, error: 'invalid_token', description: 'The access token is missing, invalid or expired' },
  forbidden: { status: 403, error: 'insufficient_scope', description: 'The token does not grant access to this resource' },
  notFound: { status: 404, error: 'not_found', description: 'Not found' },
  conflict: { status: 409, error: 'conflict', description: 'The resource already exists' },
  requestTimeout: { status: 408, error: 'invalid_request', description: 'The request did not arrive within the time allowed' },
  payloadTooLarge: { status: 413, error: 'invalid_request', description: 'The request body is too large' },
  headersTooLarge: { status: 431, error: 'invalid_request', description: 'The request headers are too large' },
  // RFC 6749 §4.1.2.1's code, which OAuth2 libraries know (oauthlib: TemporarilyUnavailableError);
  // `slow_down` belongs to the device flow and surfaces as a generic error.
  rateLimited: { status: 429, error: 'temporarily_unavailable', description: 'Too many requests' },
  internal: { status: 500, error: 'server_error', description: 'Internal server error' },
  unavailable: { status: 503, error: 'temporarily_unavailable', description: 'The service is not ready' }
} as const satisfies Record<string, ApiErrorSpec>

export type ApiErrorName = keyof typeof ApiErrors

export interface ApiErrorBody {
  error: string
  error_description: string
  detail: string
}

export class ApiError extends Error {
  readonly spec: ApiErrorSpec
  readonly headers: Readonly<Record<string, string>>

  constructor (name: ApiErrorName, description?: string, headers: Record<string, string> = {}) {
    const spec = ApiErrors[name]
    super(description ?? spec.description)
    this.name = 'ApiError'
    this.spec = spec
    this.headers = headers
  }

  get statusCode (): number {
    return this.spec.status
  }

  body (): ApiErrorBody {
    return { error: this.spec.error, error_description: this.message, detail: this.message }
  }
}

export function errorBody (name: ApiErrorName, description?: string): ApiErrorBody {
  return new ApiError(name, description).body()
}

/**
 * The WebSocket wire contract in one place, like centrifuge-js `codes.ts`:
 * every close code and reason, every error-frame code, every reserved type.
 * Clients switch on these reasons, so they are part of the public API.
 */

export interface CloseSpec {
  readonly code: number
  readonly reason: string
}

export const Close = {
  missingToken: { code: 1008, reason: 'Missing authentication token' },
  authTimeout: { code: 1008, reason: 'Authentication timeout' },
  tokenExpired: { code: 1008, reason: 'Token expired' },
  invalidToken: { code: 1008, reason: 'Invalid token' },
  invalidPayload: { code: 1008, reason: 'Invalid token payload' },
  sessionRevoked: { code: 1008, reason: 'Session revoked' },
  forbidden: { code: 1008, reason: 'Forbidden' },
  rateLimited: { code: 1008, reason: 'Rate limit exceeded' },
  originNotAllowed: { code: 1008, reason: 'Origin not allowed' },
  binaryNotSupported: { code: 1003, reason: 'Binary messages not supported' },
  messageTooBig: { code: 1009, reason: 'Message too big' },
  tooManyConnections: { code: 1013, reason: 'Too many connections' },
  slowConsumer: { code: 1013, reason: 'Slow consumer' },
  internalError: { code: 1011, reason: 'Internal error' },
  shuttingDown: { code: 1001, reason: 'Server shutting down' }
} as const satisfies Record<string, CloseSpec>

export type CloseName = keyof typeof Close

/** Codes carried by `{"type":"error","code":…}` frames; the socket stays open. */
export const ErrorCode = {
  invalidJson: 'invalid_json',
  invalidMessage: 'invalid_message',
  unsupportedType: 'unsupported_type',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
  invalidToken: 'invalid_token',
  tooManySubscriptions: 'too_many_subscriptions'
} as const

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Types the server owns; a client may not broadcast a message of these types. */
export const ReservedType = {
  connectionEstablished: 'connection_established',
  authenticate: 'authenticate',
  authenticated: 'authenticated',
  authFailed: 'auth_failed',
  refresh: 'refresh',
  refreshed: 'refreshed',
  ping: 'ping',
  pong: 'pong',
  getStatus: 'get_status',
  status: 'status',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  subscribed: 'subscribed',
  unsubscribed: 'unsubscribed',
  adminAuth: 'admin_auth',
  adminAuthResponse: 'admin_auth_response',
  adminCommand: 'admin_command',
  getStats: 'get_stats',
  statsUpdate: 'stats_update',
  error: 'error'
} as const

const reserved: ReadonlySet<string> = new Set(Object.values(ReservedType))

export function isReservedType (type: string): boolean {
  return reserved.has(type)
}

/** The channel every socket starts in. */
export const GLOBAL_CHANNEL = 'global'

/** Subprotocol a browser offers to carry its token: `Sec-WebSocket-Protocol: bearer, <jwt>`. */
export const BEARER_SUBPROTOCOL = 'bearer'

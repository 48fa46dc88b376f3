/** How the server closes a socket; clients switch on these reasons, so they are public API. */
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

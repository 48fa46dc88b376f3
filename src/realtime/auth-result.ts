import type { FastifyBaseLogger } from 'fastify'
import type { Authenticator } from '../auth/authenticator.js'
import { findCredentials, type CredentialSource } from '../auth/credentials.js'
import type { AuthFailure, AuthOutcome } from '../auth/principal.js'
import { maskToken } from '../auth/tokens.js'
import { Close, type CloseSpec } from './protocol.js'

/** The outcome of a socket's credentials, decided before or after the upgrade. */
export type SocketAuth =
  | AuthOutcome
  | { readonly ok: false, readonly failure: 'missing' | 'origin' }

type SocketFailure = AuthFailure | 'missing' | 'origin'

const FAILURE_CLOSE: Record<SocketFailure, CloseSpec> = {
  missing: Close.missingToken,
  origin: Close.originNotAllowed,
  expired: Close.tokenExpired,
  invalid: Close.invalidToken,
  payload: Close.invalidPayload,
  revoked: Close.sessionRevoked
}

export function closeFor (failure: SocketFailure): CloseSpec {
  return FAILURE_CLOSE[failure]
}

export interface AuthAttempt {
  readonly ip: string
  readonly token: string
  readonly source: CredentialSource | 'message'
}

/** Authenticates one token and logs the attempt with a masked token, never the token. */
export async function authenticateSocket (authenticator: Authenticator, attempt: AuthAttempt, log: FastifyBaseLogger): Promise<AuthOutcome> {
  const outcome = await authenticator.authenticate(attempt.token)
  const fields = { ip: attempt.ip, source: attempt.source, token: maskToken(attempt.token) }
  if (outcome.ok) {
    log.info({ ...fields, user: outcome.principal.username, outcome: 'success' }, 'websocket auth succeeded')
  } else {
    log.info({ ...fields, outcome: 'failure', failure: outcome.failure }, 'websocket auth failed')
  }
  return outcome
}

/**
 * Runs before the upgrade. `undefined` means no credentials came with the
 * handshake: the socket will be accepted pending a first `authenticate`.
 */
export async function authenticateHandshake (authenticator: Authenticator, query: unknown, headers: Parameters<typeof findCredentials>[1], ip: string, log: FastifyBaseLogger): Promise<SocketAuth | undefined> {
  const credentials = findCredentials(query, headers)
  if (credentials.kind === 'none') return undefined
  if (credentials.kind === 'ambiguous') {
    log.info({ ip, outcome: 'failure', failure: 'invalid' }, 'websocket auth failed: token given more than once')
    return { ok: false, failure: 'invalid' }
  }
  return await authenticateSocket(authenticator, { ip, token: credentials.token, source: credentials.source }, log)
}

/**
 * The close codes and reasons of the wire contract, re-exported from the
 * table the server uses so the two can never drift (src/protocol imports
 * nothing, so it bundles for browsers), plus what a client should do about each.
 */
import { BEARER_SUBPROTOCOL, Close, ErrorCode, GLOBAL_CHANNEL, isChannelName, ReservedType, UnsubscribeReason, type CloseSpec } from '../protocol/index.js'

export { BEARER_SUBPROTOCOL, Close, ErrorCode, GLOBAL_CHANNEL, isChannelName, ReservedType, UnsubscribeReason, type CloseSpec }

/**
 * - `reconnect`: transient; reconnect with backoff and jitter.
 * - `refresh`: the token expired; get a fresh one, then reconnect.
 * - `login`: the credentials are dead; retrying would be a reconnect storm.
 * - `stop`: a client bug or a deliberate close; reconnecting would not help.
 */
export type CloseAction = 'reconnect' | 'refresh' | 'login' | 'stop'

const LOGIN_REASONS: ReadonlySet<string> = new Set([
  Close.invalidToken.reason,
  Close.invalidPayload.reason,
  Close.sessionRevoked.reason,
  Close.forbidden.reason,
  Close.missingToken.reason
])

const RETRY_REASONS: ReadonlySet<string> = new Set([
  Close.authTimeout.reason,
  Close.rateLimited.reason
])

/** 1005: closed without a code; 1006: no close frame (network, crash); 1012: service restart. */
const RETRY_CODES: ReadonlySet<number> = new Set([
  Close.shuttingDown.code, 1005, 1006, Close.internalError.code, 1012, Close.tooManyConnections.code
])

export function closeAction (code: number, reason: string): CloseAction {
  if (code === Close.tokenExpired.code && reason === Close.tokenExpired.reason) return 'refresh'
  if (code === 1008 && LOGIN_REASONS.has(reason)) return 'login'
  if (code === 1008 && RETRY_REASONS.has(reason)) return 'reconnect'
  if (RETRY_CODES.has(code)) return 'reconnect'
  return 'stop'
}

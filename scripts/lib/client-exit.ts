import { Close } from '../../src/protocol/index.js'
import { isNetworkError } from './client-io.js'

/**
 * The client's exit codes: a script tells "fix the password" from "the token
 * is dead" from "the server is down" without reading stderr.
 */
export const ExitCode = {
  /** We closed with 1000 (stdin ended, or --once had every answer), or the server did. */
  ok: 0,
  /** Anything else: another close code, a line --once saw refused, an unexpected reply. */
  failure: 1,
  /** Bad arguments. */
  usage: 2,
  /** The token endpoint refused the login (wrong password, throttled, bad request). */
  loginRefused: 3,
  /** The socket refused the token: invalid, expired, revoked, or without the role. */
  tokenRefused: 4,
  /** No connection: refused, DNS, timeout, TLS, or the connection dropped without a close frame. */
  network: 5,
  /** SIGINT. */
  interrupted: 130
} as const

export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode]

/** Close reasons that mean the credentials are dead; PROTOCOL.md tells clients to stop on these. */
const TOKEN_REFUSALS: ReadonlySet<string> = new Set([
  Close.missingToken, Close.tokenExpired, Close.invalidToken, Close.invalidPayload, Close.sessionRevoked, Close.forbidden
].map((spec) => spec.reason))

/** The exit code for a socket the server (or the network) closed. */
export function exitForClose (code: number, reason: string): ExitCodeValue {
  if (code === 1000) return ExitCode.ok
  // 1006: the connection went away with no close frame; nothing refused anything.
  if (code === 1006) return ExitCode.network
  if (code === 1008 && TOKEN_REFUSALS.has(reason)) return ExitCode.tokenRefused
  return ExitCode.failure
}

/** The exit code for a socket that never opened. */
export function exitForConnectError (err: unknown, httpStatus: number | undefined): ExitCodeValue {
  // A proxy in front of wsgate may refuse the handshake itself (wsgate completes it and closes 1008).
  if (httpStatus === 401 || httpStatus === 403) return ExitCode.tokenRefused
  if (httpStatus !== undefined) return ExitCode.failure
  return isNetworkError(err) ? ExitCode.network : ExitCode.failure
}

import { Close, type CloseName, type CloseSpec } from '../protocol/index.js'

/** `tokenExpired` → `token_expired`: the close's name in the protocol table, as a machine code. */
function snakeCase (name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)
}

// Reasons are unique in the table, so the reason finds the name.
const CODES = new Map<string, string>(Object.entries(Close).map(([name, spec]) => [spec.reason, snakeCase(name as CloseName)]))

/** What a Socket.IO client is told of a refusal or a disconnect: the `/ws` close, with a machine code. */
export interface RefusalData {
  /** `invalid_token`, `token_expired`, `session_revoked`, …: Close's names in snake case. */
  readonly code: string
  /** The WebSocket close code `/ws` would have used. */
  readonly closeCode: number
}

export function refusalData (spec: CloseSpec): RefusalData {
  return { code: CODES.get(spec.reason) ?? 'internal_error', closeCode: spec.code }
}

/** The middleware error that becomes `connect_error`: `message` is the `/ws` close reason, `data` its code. */
export function refusalError (spec: CloseSpec): Error & { data: RefusalData } {
  return Object.assign(new Error(spec.reason), { data: refusalData(spec) })
}

/** The event sent just before the server disconnects a socket. */
export function disconnectReason (spec: CloseSpec): { type: 'disconnect_reason', reason: string } & RefusalData {
  return { type: 'disconnect_reason', reason: spec.reason, ...refusalData(spec) }
}

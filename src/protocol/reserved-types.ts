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
  /** Who is in a channel, asked and answered (namespaces with presence on). */
  presence: 'presence',
  /** A socket entered or left a channel (namespaces with join-leave events on). */
  join: 'join',
  leave: 'leave',
  adminAuth: 'admin_auth',
  adminAuthResponse: 'admin_auth_response',
  adminCommand: 'admin_command',
  getStats: 'get_stats',
  statsUpdate: 'stats_update',
  error: 'error'
} as const

export type ReservedTypeName = (typeof ReservedType)[keyof typeof ReservedType]

const reserved: ReadonlySet<string> = new Set(Object.values(ReservedType))

export function isReservedType (type: string): type is ReservedTypeName {
  return reserved.has(type)
}

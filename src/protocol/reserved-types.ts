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

export type ReservedTypeName = (typeof ReservedType)[keyof typeof ReservedType]

const reserved: ReadonlySet<string> = new Set(Object.values(ReservedType))

export function isReservedType (type: string): type is ReservedTypeName {
  return reserved.has(type)
}

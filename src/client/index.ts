/** `wsgate/client`, the wsgate client SDK (browser and Node, no Node built-ins): HTTP token helpers, a token session, and a reconnecting WebSocket client with channel recovery and presence. */
export { backoffDelay, type BackoffOptions } from './backoff.js'
export { WsgateClient, type WsgateClientOptions } from './client.js'
export {
  BEARER_SUBPROTOCOL, Close, closeAction, ErrorCode, GLOBAL_CHANNEL, isChannelName, ReservedType, UnsubscribeReason,
  type CloseAction, type CloseSpec
} from './codes.js'
export { fetchTestToken, joinUrl, login, me, refresh, requestJson, revoke, WsgateHttpError, type TokenResponse } from './http.js'
export { decodeClaims, maskSecrets, maskToken, tokenExpiry } from './jwt.js'
export { WsgateChannelError } from './presence.js'
export { TokenSession, type TokenSessionOptions } from './session.js'
export type * from './types.js'

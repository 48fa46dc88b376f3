/**
 * The WebSocket wire contract in one place, like centrifuge-js `codes.ts`:
 * every close code and reason, every error-frame code, every reserved type,
 * the channel-name rule and the bearer subprotocol. The server, the browser
 * SDK and the CLI all import it; it imports nothing, so it bundles for
 * browsers and sits below every other module.
 */
export { Close, type CloseName, type CloseSpec } from './close.js'
export { ErrorCode, type ErrorCodeValue } from './error-codes.js'
export { ReservedType, isReservedType, type ReservedTypeName } from './reserved-types.js'
export { ADMIN_NAMESPACE, GLOBAL_CHANNEL, USER_NAMESPACE, UnsubscribeReason, isChannelName, splitChannel, type UnsubscribeReasonValue } from './channels.js'
export { BEARER_SUBPROTOCOL } from './subprotocol.js'

/** Subprotocol a browser offers to carry its token: `Sec-WebSocket-Protocol: bearer, <jwt>`. */
export const BEARER_SUBPROTOCOL = 'bearer'

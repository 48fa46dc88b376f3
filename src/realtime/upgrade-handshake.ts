import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { parse as parseQuery } from 'fast-querystring'
import type { WebSocket, WebSocketServer } from 'ws'
import { findCredentials, type Credentials } from '../auth/credentials.js'
import { maskToken } from '../auth/tokens.js'
import { ApiErrors, type ApiErrorName } from '../errors.js'
import type { LoggedRequest } from '../http/logging.js'
import { Close } from '../protocol/index.js'
import type { Admission, Refusal } from './admission.js'
import { authenticateHandshake, closeFor, type SocketAuth } from './auth-result.js'
import { Connection } from './connection.js'
import type { RealtimeContext } from './context.js'
import type { ConnectionKind } from './endpoint.js'
import { dropClearedTimeout } from './socket-timeout.js'
import { refuseUpgrade, splitTarget, unguard, type UpgradeHandler } from './upgrade.js'

export interface HandshakeDeps {
  readonly ctx: RealtimeContext
  /** A `noServer` WebSocketServer: the handshake decides, then hands the socket to it. */
  readonly wss: WebSocketServer
  readonly admission: Admission
  /** Browser origins allowed to open a socket; undefined: any. */
  readonly allowedOrigins: ReadonlySet<string> | undefined
  /** The client address, as Fastify's `request.ip` would give it (TRUST_PROXY). */
  readonly clientIp: (request: IncomingMessage) => string
  /** True once shutdown began. */
  readonly closing: () => boolean
}

/** 429 when one address is over its share, 503 when the server as a whole is full. */
const REFUSED: Record<Refusal, { readonly error: ApiErrorName, readonly description: string }> = {
  connectionsPerIp: { error: 'rateLimited', description: 'Too many WebSocket connections from this address' },
  pendingPerIp: { error: 'rateLimited', description: 'Too many WebSocket connections from this address waiting to authenticate' },
  pendingTotal: { error: 'unavailable', description: 'Too many WebSocket connections waiting to authenticate; try again shortly' }
}

/** What a handshake's one log line says besides where it came from. */
interface Verdict {
  readonly msg: string
  readonly fields: Readonly<Record<string, unknown>>
}

function verdictOf (auth: SocketAuth | undefined, credentials: Credentials, origin: string | undefined): Verdict {
  if (auth === undefined) return { msg: 'websocket connected, awaiting authenticate', fields: { outcome: 'pending' } }
  const token = credentials.kind === 'found' ? { source: credentials.source, token: maskToken(credentials.token) } : {}
  if (auth.ok) return { msg: 'websocket auth succeeded', fields: { ...token, user: auth.principal.username, outcome: 'success' } }
  if (auth.failure === 'origin') return { msg: 'websocket origin refused', fields: { origin: origin?.slice(0, 200), outcome: 'failure', failure: 'origin' } }
  const twice = credentials.kind === 'ambiguous' ? { detail: 'token given more than once' } : {}
  return { msg: 'websocket auth failed', fields: { ...token, ...twice, outcome: 'failure', failure: auth.failure } }
}

/**
 * The handshake of `/ws` and `/admin/ws`, run in the server's `upgrade`
 * listener rather than in Fastify's request lifecycle (no Request, Reply,
 * hooks or child logger for a request that never gets an HTTP reply): the
 * caps on sockets per IP and on sockets waiting to authenticate (HTTP
 * 429/503, checked before any credential is read), then the Origin rule and
 * the credentials. The upgrade then completes even when they fail, so that a
 * browser can read the close code (an HTTP 401 reaches it only as 1006).
 * Clients that send no Origin (websocat, Node, curl) are not browsers and
 * cannot be victims of cross-site WebSocket hijacking, so only a present,
 * unlisted Origin fails. Each handshake logs one line, with the client IP.
 */
export function realtimeHandshake (deps: HandshakeDeps, kind: ConnectionKind): UpgradeHandler {
  const { ctx, wss, admission, allowedOrigins } = deps
  return (request, socket, head) => {
    const ip = deps.clientIp(request)
    const req: LoggedRequest = { method: request.method ?? '', url: request.url ?? '/', ip, headers: request.headers }
    const refuse = (error: ApiErrorName, description: string, fields: object): void => {
      ctx.log.info({ req, ip, endpoint: kind, status: ApiErrors[error].status, ...fields }, 'websocket handshake refused')
      refuseUpgrade(socket, error, description)
    }
    // Checked before anything costs: ws would refuse these too, but only after the credentials were.
    if (request.method !== 'GET' || request.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuse('invalidRequest', 'A WebSocket handshake is a GET request with Upgrade: websocket', { reason: 'not a websocket upgrade' })
      return
    }
    if (deps.closing()) {
      refuse('unavailable', 'Server shutting down', { reason: 'shutting down' })
      return
    }
    const query = splitTarget(req.url).query
    const credentials = findCredentials(query === '' ? {} : parseQuery(query), request.headers)
    const admitted = admission.admit(ip, credentials.kind === 'none', socket)
    if (!admitted.ok) {
      ctx.stats.refusedHandshakes[admitted.refusal]++
      const refused = REFUSED[admitted.refusal]
      refuse(refused.error, refused.description, { refusal: admitted.refusal })
      return
    }
    const userAgent = request.headers['user-agent'] ?? null
    const origin = request.headers.origin
    // CORS does not cover the WebSocket handshake: without this check any
    // page could open a socket with a victim's stored token.
    const decided: Promise<SocketAuth | undefined> = allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.has(origin)
      ? Promise.resolve({ ok: false, failure: 'origin' })
      : credentials.kind === 'none' ? Promise.resolve(undefined) : authenticateHandshake(ctx, credentials, ip, userAgent)
    decided.then((auth) => {
      const verdict = verdictOf(auth, credentials, origin)
      upgrade(request, socket, head, (ws) => {
        const conn = new Connection(ws, ctx, { ip, userAgent }, kind)
        ctx.log.info({ req, ip, endpoint: kind, connectionId: conn.connectionId, ...verdict.fields }, verdict.msg)
        if (auth === undefined) conn.awaitAuthentication(admitted.slot)
        else if (auth.ok) conn.open(auth.principal)
        else conn.closeWith(closeFor(auth.failure))
      })
    }, (err: unknown) => {
      // The store failed (the database went away): the socket is told 1011, as a failed `authenticate` is.
      ctx.log.error({ err, req, ip, endpoint: kind }, 'websocket authentication crashed')
      upgrade(request, socket, head, (ws) => { new Connection(ws, ctx, { ip, userAgent }, kind).closeWith(Close.internalError) })
    })
  }

  /** Hands the socket to ws; `accept` runs synchronously once the 101 is written, before any message can arrive. */
  function upgrade (request: IncomingMessage, socket: Duplex, head: Buffer, accept: (ws: WebSocket) => void): void {
    unguard(socket)
    // A client that left during authentication is destroyed by ws without a callback; shutdown meanwhile gets ws's 503.
    wss.handleUpgrade(request, socket, head, (ws) => {
      dropClearedTimeout(socket)
      wss.emit('connection', ws, request)
      try {
        accept(ws)
      } catch (err) {
        ctx.log.error({ err }, 'websocket handler failed')
        ws.close(Close.internalError.code, Close.internalError.reason)
      }
    })
  }
}

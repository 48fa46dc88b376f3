import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { ApiErrors, errorBody, type ApiErrorName } from '../errors.js'

/** Takes over an upgrade request: answers it, upgrades it or destroys it. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

/** `/ws?token=…` → `/ws` and `token=…`, split as Fastify's router splits a URL (at the first `?` or `#`). */
export function splitTarget (url: string): { readonly path: string, readonly query: string } {
  const question = url.indexOf('?')
  const hash = url.indexOf('#')
  const at = question === -1 ? hash : hash === -1 ? question : Math.min(question, hash)
  return at === -1 ? { path: url, query: '' } : { path: url.slice(0, at), query: url.slice(at + 1) }
}

/**
 * Answers an upgrade with an HTTP error in the API's one error body and
 * closes the connection: nothing was upgraded, so HTTP is still spoken.
 */
export function refuseUpgrade (socket: Duplex, name: ApiErrorName, description?: string, headers: Readonly<Record<string, string>> = {}): void {
  const { status } = ApiErrors[name]
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify(errorBody(name, description))
  const extra = Object.entries(headers).map(([key, value]) => `${key}: ${value}\r\n`).join('')
  socket.once('finish', () => { socket.destroy() })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`)
}

/**
 * The one owner of the HTTP server's `upgrade` event. Every upgrade request
 * goes to exactly one place: an exact path (`/ws`, `/admin/ws`) or a path
 * prefix claimed by another endpoint (Socket.IO's `/socket.io/`). A prefix
 * claimed without a handler belongs to a listener attached elsewhere (an
 * engine.io attached with `destroyUpgrade: false`), and is left alone here.
 * Anything else is answered 404 and closed at once: once an `upgrade`
 * listener exists Node hands such a socket over and no timeout of its own
 * applies, so an unanswered one would hang until the client gave up.
 */
export class UpgradeRouter {
  private readonly exact = new Map<string, UpgradeHandler>()
  private readonly prefixes: Array<{ readonly prefix: string, readonly handler: UpgradeHandler | undefined }> = []
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => { this.dispatch(request, socket, head) }
  private server: Server | undefined

  constructor (private readonly onError: (err: unknown, path: string) => void) {}

  /** Upgrades to exactly `path` (any query) go to `handler`. */
  route (path: string, handler: UpgradeHandler): void {
    if (this.exact.has(path)) throw new Error(`an upgrade handler for ${path} exists already`)
    this.exact.set(path, handler)
  }

  /** Upgrades under `prefix` go to `handler`, or, without one, to another `upgrade` listener of the same server. */
  claim (prefix: string, handler?: UpgradeHandler): void {
    if (this.prefixes.some((p) => p.prefix === prefix)) throw new Error(`upgrades under ${prefix} are claimed already`)
    this.prefixes.push({ prefix, handler })
  }

  attach (server: Server): void {
    this.server = server
    server.on('upgrade', this.listener)
  }

  detach (): void {
    this.server?.removeListener('upgrade', this.listener)
    this.server = undefined
  }

  private dispatch (request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node takes its own 'error' listener off before it emits 'upgrade': a
    // reset while the handler decides must not become an uncaught error.
    // ws adds its own when it takes the socket over.
    socket.on('error', destroyOnError)
    const { path } = splitTarget(request.url ?? '/')
    try {
      const handler = this.exact.get(path)
      if (handler !== undefined) {
        handler(request, socket, head)
        return
      }
      const claimed = this.prefixes.find((p) => path.startsWith(p.prefix))
      if (claimed === undefined) refuseUpgrade(socket, 'notFound', 'No WebSocket endpoint at this path')
      else claimed.handler?.(request, socket, head)
    } catch (err) {
      this.onError(err, path)
      refuseUpgrade(socket, 'internal')
    }
  }
}

function destroyOnError (this: Duplex): void {
  this.destroy()
}

/** Takes the router's error guard off a socket, for whoever attaches its own (ws does in handleUpgrade). */
export function unguard (socket: Duplex): void {
  socket.removeListener('error', destroyOnError)
}

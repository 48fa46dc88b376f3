import type { IncomingHttpHeaders } from 'node:http'

/** A parameter name shown as it came: short and plain, so it cannot be a credential itself. */
const PLAIN_NAME = /^[A-Za-z0-9_.%+\-[\]]{1,32}$/

/**
 * `?token=eyJ…&limit=20` → `?token=[redacted]&limit=[redacted]`: Fastify logs
 * the URL of every request, and no list of secret names can guess every
 * spelling a client may put a token under (`?a=1;token=…`, `?to+ken=…`,
 * `?token%00=…`, `?%2574oken=…`), so no query value is logged at all. Names
 * stay when they are short and plain, for debugging; anything longer could
 * be a token sent as a name (`?eyJ…`) and becomes `[param]`. A fragment,
 * which clients do not normally send, is dropped the same way.
 */
export function redactUrl (url: string): string {
  const start = url.indexOf('?')
  const hashAt = url.indexOf('#')
  if (start === -1 && hashAt === -1) return url
  const pathEnd = Math.min(start === -1 ? url.length : start, hashAt === -1 ? url.length : hashAt)
  let out = url.slice(0, pathEnd)
  if (start !== -1 && (hashAt === -1 || start < hashAt)) {
    const query = url.slice(start + 1, hashAt === -1 ? url.length : hashAt)
    const params = query === '' ? [] : query.split('&').map((param) => {
      const eq = param.indexOf('=')
      const name = eq === -1 ? param : param.slice(0, eq)
      const shown = PLAIN_NAME.test(name) ? name : '[param]'
      return eq === -1 && shown === name ? name : `${shown}=[redacted]`
    })
    out += `?${params.join('&')}`
  }
  if (hashAt !== -1) out += '#[redacted]'
  return out
}

/** What the request serializer reads: a FastifyRequest, or the same fields of an upgrade handled outside Fastify. */
export interface LoggedRequest {
  readonly method: string
  readonly url: string
  readonly ip: string
  readonly headers: IncomingHttpHeaders
}

/** The request serializer: no headers (Authorization, Sec-WebSocket-Protocol) and no query values. */
export function serializeRequest (request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    remoteAddress: request.ip,
    userAgent: request.headers['user-agent']
  }
}

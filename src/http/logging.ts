import type { FastifyRequest } from 'fastify'

const SECRET_NAMES: ReadonlySet<string> = new Set(['token', 'access_token', 'refresh_token', 'password'])

function decodedName (raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/**
 * `?token=eyJ…` → `?token=[redacted]`: Fastify logs the URL of every request.
 * Names are compared decoded, as the query parser reads them, so that
 * `?%74oken=…` — a working credential — is redacted too.
 */
export function redactUrl (url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const hashAt = url.indexOf('#', start)
  const end = hashAt === -1 ? url.length : hashAt
  const params = url.slice(start + 1, end).split('&').map((param) => {
    const eq = param.indexOf('=')
    const name = eq === -1 ? param : param.slice(0, eq)
    return SECRET_NAMES.has(decodedName(name)) ? `${name}=[redacted]` : param
  })
  return `${url.slice(0, start + 1)}${params.join('&')}${url.slice(end)}`
}

/** The request serializer: no headers (Authorization, Sec-WebSocket-Protocol) and no query secrets. */
export function serializeRequest (request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    remoteAddress: request.ip,
    userAgent: request.headers['user-agent']
  }
}

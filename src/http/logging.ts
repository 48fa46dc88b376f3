import type { FastifyRequest } from 'fastify'

const SECRET_PARAMS = /([?&](?:access_token|token|refresh_token|password)=)[^&#]*/gi

/** `?token=eyJ…` → `?token=[redacted]`: Fastify logs the URL of every request. */
export function redactUrl (url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
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

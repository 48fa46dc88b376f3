import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { ApiError } from '../errors.js'

/**
 * Errors Node's HTTP parser raises before a request reaches Fastify's
 * routing: a request or its headers that did not arrive within
 * HTTP_REQUEST_TIMEOUT_MS / HTTP_HEADERS_TIMEOUT_MS, oversized headers, bytes
 * that are not HTTP. Answered in the API's one error body shape (Fastify's
 * default writes its own), logged with the peer address and nothing the
 * client sent, then the connection is closed.
 */
export function clientErrorHandler (this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset peer has gone already; there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const apiError = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? new ApiError('requestTimeout')
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError('headersTooLarge')
      : new ApiError('invalidRequest', 'Malformed HTTP request')
  this.log.info({ ip: socket.remoteAddress, status: apiError.statusCode, code: err.code }, apiError.message)
  if (socket.writable) {
    const body = JSON.stringify(apiError.body())
    const reason = apiError.statusCode === 408 ? 'Request Timeout' : apiError.statusCode === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
    socket.write(`HTTP/1.1 ${apiError.statusCode} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

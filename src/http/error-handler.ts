import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { ApiError } from '../errors.js'

function isFastifyClientError (err: FastifyError): boolean {
  return typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500
}

/**
 * Every error leaves in the one body shape of errors.ts. Client mistakes that
 * Fastify catches itself (bad JSON, unknown content type, schema failures)
 * become `invalid_request`; anything unexpected becomes a 500 whose body
 * carries no internals, logged with the request id.
 */
export default fp(async (fastify) => {
  fastify.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    let apiError: ApiError
    if (err instanceof ApiError) {
      apiError = err
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      apiError = new ApiError('payloadTooLarge')
    } else if (err.statusCode === 429) {
      apiError = new ApiError('rateLimited', err.message)
    } else if (err.validation !== undefined || isFastifyClientError(err)) {
      apiError = new ApiError('invalidRequest', err.message)
    } else {
      request.log.error({ err }, 'unhandled error')
      apiError = new ApiError('internal')
    }
    if (apiError.statusCode < 500) request.log.info({ status: apiError.statusCode, error: apiError.spec.error }, apiError.message)
    reply.code(apiError.statusCode).headers(apiError.headers).send(apiError.body())
  })

  fastify.setNotFoundHandler((request, reply) => {
    const apiError = new ApiError('notFound', `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found`)
    reply.code(404).send(apiError.body())
  })
}, { name: 'wsgate-errors' })

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
// For the `hide` field of route schemas, which keeps these routes out of /docs.
import type {} from '@fastify/swagger'
import { webRoot } from './package-root.js'

export interface WebOptions {
  /** The built pages; default `<package root>/dist/web`. */
  root?: string
}

const NOT_BUILT = 'wsgate: the web pages are not built. Run `npm run build` (npm start does it first), then restart the server.\n'

async function notBuilt (_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT)
}

/**
 * `/` (the WebSocket test page) and `/admin/` (the dashboard), built by
 * scripts/build-web.mjs. One route per built file rather than a `/*`
 * wildcard, so the pages cannot shadow `/admin/ws`, the admin REST routes or
 * the JSON 404 of unknown paths. Without a build, the two page URLs say how
 * to make one instead of the server refusing to start.
 */
export default fp<WebOptions>(async (fastify, options) => {
  const root = options.root ?? webRoot()
  const built = existsSync(join(root, 'index.html'))
  // The dashboard's asset URLs are relative, so it must be opened with the trailing slash.
  fastify.get('/admin', { schema: { hide: true } }, async (request, reply) => {
    const query = request.url.indexOf('?')
    return await reply.redirect(`/admin/${query === -1 ? '' : request.url.slice(query)}`, 301)
  })
  if (!built) {
    fastify.log.warn({ root }, 'web pages not built: / and /admin/ answer 503 until `npm run build`')
    fastify.get('/', { schema: { hide: true } }, notBuilt)
    fastify.get('/admin/', { schema: { hide: true } }, notBuilt)
    return
  }
  await fastify.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    // Its redirect option would also register an empty path for the root index, which fastify refuses.
    redirect: false,
    // swagger-ui registers @fastify/static too; a second `reply.sendFile` would clash.
    decorateReply: false,
    // Unhashed file names: let browsers revalidate instead of caching a stale bundle.
    cacheControl: false,
    setHeaders: (reply) => { reply.header('cache-control', 'no-cache') }
  })
}, { name: 'wsgate-web' })

import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { packageVersion } from '../web/package-root.js'

/**
 * OpenAPI 3 from the route schemas, and its UI at `/docs`. Registered before
 * every route plugin: @fastify/swagger collects routes in an onRoute hook,
 * so a route added before it would be missing from the document.
 * swagger-ui 5 ships no inline script, so helmet's default CSP
 * (`script-src 'self'`) already admits it; nothing is loosened here.
 */
export default fp(async (fastify) => {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'wsgate',
        description: 'OAuth2 token endpoint and an authenticated WebSocket hub. The WebSocket protocol ' +
          '(`/ws`, `/admin/ws`: credentials, messages, close codes) is in docs/PROTOCOL.md; log in with ' +
          '`POST /token`, then press Authorize and paste the `access_token`.',
        version: packageVersion()
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /token' }
        }
      },
      tags: [
        { name: 'auth', description: 'Tokens and identity' },
        { name: 'realtime', description: 'Publishing to the hub' },
        { name: 'admin', description: 'Role admin only' },
        { name: 'ops', description: 'Health and readiness' }
      ]
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false }
  })
}, { name: 'wsgate-openapi' })

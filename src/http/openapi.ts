import fp from 'fastify-plugin'
import swagger, { type SwaggerTransform } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { packageVersion } from '../web/package-root.js'

/** The scheme route schemas name (`security: [{ bearerAuth: [] }]`): an access token pasted as it is. */
export const BEARER_SCHEME = 'bearerAuth'
/** The same tokens, obtained by Swagger UI itself from `POST /token` with a username and password. */
export const PASSWORD_FLOW_SCHEME = 'oauth2Password'

/**
 * Every operation that takes a bearer token also lists the password flow as
 * an alternative, so Swagger UI's Authorize can log in and "Try it out" then
 * sends the token it got. Done here rather than in each route schema: the
 * routes say "bearer token", and how a browser obtains one is this file's
 * business. The route's own schema object is left as it is.
 */
const offerPasswordFlow: SwaggerTransform = ({ schema, url }) => {
  const security = (schema as { security?: Array<Record<string, string[]>> }).security
  if (security?.some((requirement) => BEARER_SCHEME in requirement) !== true) return { schema, url }
  return { schema: { ...schema, security: [{ [PASSWORD_FLOW_SCHEME]: [] }, ...security] }, url }
}

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
          '(`/ws`, `/admin/ws`: credentials, messages, close codes) is in docs/PROTOCOL.md. To try the ' +
          'protected routes, press Authorize and log in under `oauth2Password` with a username and ' +
          'password (leave client_id and client_secret empty), or paste an `access_token` from ' +
          '`POST /token` under `bearerAuth`.',
        version: packageVersion()
      },
      components: {
        securitySchemes: {
          [PASSWORD_FLOW_SCHEME]: {
            type: 'oauth2',
            description: 'OAuth2 password grant at POST /token. wsgate\'s clients are public (RFC 6749 §2.1): ' +
              'any client_id is accepted and no client secret is checked, so leave both empty.',
            flows: { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: {} } }
          },
          [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /token' }
        }
      },
      tags: [
        { name: 'auth', description: 'Tokens and identity' },
        { name: 'realtime', description: 'Publishing to the hub' },
        { name: 'admin', description: 'Role admin only' },
        { name: 'ops', description: 'Health and readiness' }
      ]
    },
    transform: offerPasswordFlow
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false }
  })
}, { name: 'wsgate-openapi' })

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import webPages from '../../src/web/plugin.js'
import { packageRoot, webRoot } from '../../src/web/package-root.js'
import { build, tempDir } from '../helper.js'
import { ROOT } from './browser.js'

t.test('the package root is found from src/web and would be from dist/src/web', async (t) => {
  t.equal(packageRoot(), ROOT)
  t.equal(packageRoot(new URL(`file://${join(ROOT, 'dist', 'src', 'web', 'plugin.js')}`).href), ROOT)
  t.equal(webRoot(), join(ROOT, 'dist', 'web'))
})

t.test('without a build, / and /admin/ say how to make one (503), the server still starts', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(webPages, { root: join(tempDir(t), 'missing') })
  for (const url of ['/', '/admin/']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 503, url)
    t.match(res.body, /npm run build/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const redirect = await app.inject({ url: '/admin' })
  t.equal(redirect.statusCode, 301)
  t.equal(redirect.headers.location, '/admin/')
})

t.test('a build is served file by file: pages, assets, and nothing else', async (t) => {
  const root = tempDir(t)
  mkdirSync(join(root, 'admin'))
  mkdirSync(join(root, 'assets'))
  writeFileSync(join(root, 'index.html'), '<title>test page</title>')
  writeFileSync(join(root, 'admin', 'index.html'), '<title>dashboard</title>')
  writeFileSync(join(root, 'assets', 'admin.js'), 'export {}')
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  app.get('/admin/ws', async () => 'socket route')
  app.get('/admin/users', async () => 'users route')
  await app.register(webPages, { root })
  t.match((await app.inject({ url: '/' })).body, 'test page')
  const admin = await app.inject({ url: '/admin/' })
  t.match(admin.body, 'dashboard')
  t.match(admin.headers['content-type'], /^text\/html/)
  t.equal(admin.headers['cache-control'], 'no-cache')
  t.equal((await app.inject({ url: '/admin?x=1' })).headers.location, '/admin/?x=1')
  t.match((await app.inject({ url: '/assets/admin.js' })).headers['content-type'], /javascript/)
  t.equal((await app.inject({ url: '/admin/ws' })).body, 'socket route', 'no clash with /admin/ws')
  t.equal((await app.inject({ url: '/admin/users' })).body, 'users route', 'no clash with the admin REST routes')
  t.equal((await app.inject({ url: '/assets/nope.js' })).statusCode, 404)
  t.equal((await app.inject({ url: '/../package.json' })).statusCode, 404)
})

t.test('GET /docs/json: OpenAPI 3 with every route schema and the bearer scheme', async (t) => {
  const built = await build(t)
  const res = await built.app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json<{ openapi: string, paths: Record<string, Record<string, { security?: unknown, requestBody?: unknown, responses: Record<string, unknown> }>>, components: { securitySchemes: Record<string, unknown> } }>()
  t.match(doc.openapi, /^3\./)
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /token' })
  t.match(doc.paths['/token']?.post, {
    requestBody: { content: { 'application/json': { schema: { properties: { grant_type: {}, username: {}, password: {}, refresh_token: {} } } } } },
    responses: { 200: { content: { 'application/json': { schema: { required: ['access_token', 'token_type', 'expires_in'] } } } }, 401: {} }
  })
  t.match(doc.paths['/me']?.get, { security: [{ bearerAuth: [] }], responses: { 200: { content: { 'application/json': { schema: { properties: { username: {}, roles: {} } } } } } } })
  t.match(doc.paths['/messages']?.post, { security: [{ bearerAuth: [] }], requestBody: { content: { 'application/json': { schema: { required: ['type'] } } } }, responses: { 202: {} } })
  for (const hidden of ['/', '/admin', '/admin/', '/docs']) t.notOk(hidden in doc.paths, `${hidden} is not an API route`)
  const ui = await built.app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-security-policy'], /script-src 'self'/, 'the UI runs under the app\'s CSP unchanged')
})

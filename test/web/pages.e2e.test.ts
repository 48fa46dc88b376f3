import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import webPages from '../../src/web/plugin.js'
import { packageRoot, webRoot } from '../../src/web/package-root.js'
import { build, tempDir } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { buildPages, openPage, sharedBrowser, ROOT } from './browser.js'

/*
 * How the app serves its pages and /docs, then the two pages and /docs in a
 * real Chromium against a real app. A missing Chromium is a failure with the
 * fix in its message, never a silent skip.
 */

// A real browser, four pages and Swagger UI: on two busy cores this file
// has taken 50 s, more than the suite's 60 s default leaves room for.
t.setTimeout(120_000)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

// The pages are rebuilt first (0.4 s), as `npm run build` does: a run
// straight after editing src/web must not test the old ones, and an app
// serves the files that exist when it is built.
await buildPages()
// Shared by the tests that leave nothing behind that another could see
// (the admin test counts sockets, so it has an app of its own). Built before
// the first test is queued: tap ends the file once its queue runs empty.
const built = await build(t)

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
  const res = await built.app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json<{ openapi: string, paths: Record<string, Record<string, { security?: unknown, requestBody?: unknown, responses: Record<string, unknown> }>>, components: { securitySchemes: Record<string, unknown> } }>()
  t.match(doc.openapi, /^3\./)
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /token' })
  t.match(doc.paths['/token']?.post, {
    requestBody: { content: { 'application/json': { schema: { properties: { grant_type: {}, username: {}, password: {}, refresh_token: {} } } } } },
    responses: { 200: { content: { 'application/json': { schema: { required: ['access_token', 'token_type', 'expires_in'] } } } }, 401: {} }
  })
  t.match(doc.paths['/me']?.get, { security: [{ oauth2Password: [] }, { bearerAuth: [] }], responses: { 200: { content: { 'application/json': { schema: { properties: { username: {}, roles: {} } } } } } } })
  t.match(doc.paths['/messages']?.post, { security: [{ oauth2Password: [] }, { bearerAuth: [] }], requestBody: { content: { 'application/json': { schema: { required: ['type'] } } } }, responses: { 202: {} } })
  for (const hidden of ['/', '/admin', '/admin/', '/docs']) t.notOk(hidden in doc.paths, `${hidden} is not an API route`)
  const ui = await built.app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-security-policy'], /script-src 'self'/, 'the UI runs under the app\'s CSP unchanged')
})

const shared = sharedBrowser(t)
if (shared !== undefined) {
  const browser = shared

  t.test('/: log in, connect, send, see it stamped, then see the server close it', async (t) => {
    const { page, errors, screenshot, waitForText } = await openPage(t, browser.current)
    // The page's timers run on a clock the test can move: see the end.
    await page.clock.install()
    await page.goto(`${built.url}/`)
    await page.fill('#username', 'user')
    await page.fill('#password', 'password')
    const tokenResponse = page.waitForResponse((res) => res.url().endsWith('/token') && res.request().method() === 'POST')
    await page.click('#login')
    const tokens = await (await tokenResponse).json() as { access_token: string, refresh_token: string }
    t.match(await waitForText('#token-masked', /^eyJh…/), /^eyJh….{4}$/, 'the token is shown masked')
    t.notOk((await page.content()).includes(tokens.access_token), 'the full token is nowhere in the page')

    await page.click('#connect')
    await waitForText('#status', 'open')
    await page.locator('#log li.in', { hasText: 'connection_established' }).waitFor()

    await page.fill('#message', JSON.stringify({ type: 'test', payload: { message: 'Hello from Chromium' } }))
    await page.click('#send')
    const echoed = page.locator('#log li.in', { hasText: 'Hello from Chromium' })
    await echoed.waitFor()
    t.equal(await echoed.locator('.type').textContent(), 'test')
    t.equal(await echoed.locator('.meta-user b').textContent(), 'user', 'stamped with the user')
    t.match(await echoed.locator('.meta-time b').textContent(), /^\d{10}(\.\d{1,3})? \(\d{4}-/, 'stamped with a timestamp')
    t.match(await echoed.locator('.meta-rid b').textContent(), UUID, 'stamped with a requestId')

    await page.click('#ping')
    await page.locator('#log li.in .type', { hasText: /^pong$/ }).waitFor()

    await screenshot('test-page.png')

    // Revoking the session from outside is a server-side close the page must report and not retry.
    const revoked = await fetch(`${built.url}/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: tokens.refresh_token }) })
    t.equal(revoked.status, 200)
    const closed = page.locator('#log li.close')
    await closed.waitFor()
    t.match(await closed.locator('.type').textContent(), 'closed 1008 Session revoked')
    await waitForText('#status', 'needs-login')
    t.match(await page.textContent('#auth-error'), /log in again/i)
    // A retry could only come from a timer (the SDK's backoff tops out at
    // 30 s). Fire every timer due in the next two minutes: a retry would
    // show as `connecting` and as a second close.
    await page.clock.runFor(120_000)
    t.equal(await page.textContent('#status'), 'needs-login', 'still stopped after every timer ran')
    t.equal(await page.locator('#log li.close').count(), 1, 'no reconnect after Session revoked')

    await screenshot('test-page-closed.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })

  t.test('/: the token travels in the query, a subprotocol or the first message', async (t) => {
    const { page, errors, waitForText } = await openPage(t, browser.current)
    await page.goto(`${built.url}/`)
    await page.click('#test-token')
    await waitForText('#token-user', /^user/)
    for (const transport of ['query', 'subprotocol', 'message']) {
      await page.check(`input[name="transport"][value="${transport}"]`)
      await page.click('#connect')
      await waitForText('#status', 'open')
      await page.click('#disconnect')
      await waitForText('#status', 'closed')
    }
    t.equal(await page.locator('#log li.in', { hasText: 'connection_established' }).count(), 3)
    t.same(errors, [])
  })

  t.test('/: subscribe to channels, see their offsets, epochs and presence', async (t) => {
    const { page, errors, screenshot, waitForText } = await openPage(t, browser.current)
    await page.goto(`${built.url}/`)
    await page.click('#test-token')
    await waitForText('#token-user', /^user/)
    await page.click('#connect')
    await waitForText('#status', 'open')
    for (const channel of ['e2e-room', 'user:user']) {
      await page.fill('#channel', channel)
      await page.click('#subscribe')
    }
    const room = `#channel-list li[data-channel="e2e-room"]`
    await waitForText(`${room} .status`, 'subscribed')
    t.equal(await waitForText(`${room} .offset`, /^\d+$/), '0', 'a new channel starts at offset 0')
    const epoch = await waitForText(`${room} .epoch`, /^[^–]+$/)

    const { access_token: token } = await built.login()
    const publisher = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    t.teardown(() => { publisher.close() })
    publisher.send({ type: 'subscribe', channel: 'e2e-room' })
    await publisher.nextOfType('subscribed')
    publisher.send({ type: 'chat', channel: 'e2e-room', text: 'hello room' })
    await waitForText(`${room} .offset`, '1')
    t.equal(await page.textContent(`${room} .epoch`), epoch, 'same epoch')

    // A user's own channel has presence: the page's socket is in the list.
    const own = `#channel-list li[data-channel="user:user"]`
    await waitForText(`${own} .status`, 'subscribed')
    await page.click(`${own} button.presence`)
    await waitForText(`${own} .members li`, /^user .+ \(you\)$/)
    // The bare namespace has presence off: the refusal is shown, not thrown.
    await page.click(`${room} button.presence`)
    await waitForText(`${room} .error`, /^Presence: /)

    await screenshot('test-page-channels.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })

  t.test('/admin/: live stats, auth failures, and a kick that closes the user\'s socket', async (t) => {
    const admin = await build(t, { STATS_INTERVAL_MS: '200' })
    await admin.app.users.create({ username: 'root', passwordHash: await admin.app.passwords.hash('root-password'), roles: ['admin'] })
    const failed = await fetch(`${admin.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'mallory', password: 'wrong' }) })
    t.equal(failed.status, 401)
    await admin.app.auditLog.flush()

    const { page, errors, screenshot, waitForText } = await openPage(t, browser.current)
    await page.goto(`${admin.url}/admin`)
    t.match(page.url(), /\/admin\/$/, '/admin redirects to /admin/')
    await page.fill('#username', 'root')
    await page.fill('#password', 'root-password')
    await page.click('#login')
    await waitForText('#status', 'open')
    await waitForText('#stat-connections', '1')
    await page.locator('#failures-table tr', { hasText: 'mallory' }).waitFor()

    const { access_token: token } = await admin.login()
    const other = await TestSocket.connect(`${admin.wsUrl}/ws?token=${token}`)
    await waitForText('#stat-connections', '2')
    await waitForText('#stat-users', '2')
    other.send({ type: 'subscribe', channel: 'e2e-lobby' })
    await waitForText('#channels-table tr[data-channel="e2e-lobby"] td:nth-child(2)', '1')

    const kick = page.locator('#users-table tr[data-user="user"] button.kick')
    await kick.click()
    t.same(await closedWithin(other, 10_000), { code: 1008, reason: 'Session revoked' }, 'the kicked socket closes')
    await waitForText('#notice', /kick user: done/)
    await waitForText('#stat-connections', '1')
    t.ok(await page.locator('#users-table tr[data-user="root"] button.kick').isDisabled(), 'an admin cannot kick their own dashboard')
    t.ok(await page.locator('#chart-connections polyline').count() >= 1, 'the chart is drawn')

    await screenshot('admin-page.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })

  t.test('/docs renders the OpenAPI UI under the app\'s CSP', async (t) => {
    const { page, errors, screenshot, waitForText } = await openPage(t, browser.current)
    await page.goto(`${built.url}/docs`)
    await waitForText('.swagger-ui .info .title', /^wsgate/, 10_000)
    await page.locator('.opblock-summary-path', { hasText: /^\/token$/ }).first().waitFor()
    await screenshot('docs-page.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })
}

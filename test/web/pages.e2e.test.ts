import t from 'tap'
import type { Browser } from 'playwright-core'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { buildPages, chromiumMissing, launch, openPage } from './browser.js'

/*
 * The two pages and /docs in a real Chromium against a real app. A missing
 * Chromium is a failure with the fix in its message, never a silent skip.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const missing = chromiumMissing()
if (missing !== undefined) {
  console.error(missing)
  t.fail(missing)
} else {
  let browser: Browser
  t.before(async () => {
    await buildPages()
    browser = await launch()
  })
  t.teardown(async () => { await browser?.close() })

  t.test('/: log in, connect, send, see it stamped, then see the server close it', async (t) => {
    const built = await build(t)
    const { page, errors, screenshot, waitForText } = await openPage(browser)
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
    await page.waitForTimeout(300)
    t.equal(await page.locator('#log li.close').count(), 1, 'no reconnect after Session revoked')

    await screenshot('test-page-closed.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })

  t.test('/: the token travels in the query, a subprotocol or the first message', async (t) => {
    const built = await build(t)
    const { page, errors, waitForText } = await openPage(browser)
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

  t.test('/admin/: live stats, auth failures, and a kick that closes the user\'s socket', async (t) => {
    const built = await build(t, { STATS_INTERVAL_MS: '200' })
    await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
    const failed = await fetch(`${built.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'mallory', password: 'wrong' }) })
    t.equal(failed.status, 401)
    await built.app.auditLog.flush()

    const { page, errors, screenshot, waitForText } = await openPage(browser)
    await page.goto(`${built.url}/admin`)
    t.match(page.url(), /\/admin\/$/, '/admin redirects to /admin/')
    await page.fill('#username', 'root')
    await page.fill('#password', 'root-password')
    await page.click('#login')
    await waitForText('#status', 'open')
    await waitForText('#stat-connections', '1')
    await page.locator('#failures-table tr', { hasText: 'mallory' }).waitFor()

    const { access_token: token } = await built.login()
    const other = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    await waitForText('#stat-connections', '2')
    await waitForText('#stat-users', '2')

    const kick = page.locator('#users-table tr[data-user="user"] button.kick')
    await kick.click()
    t.same(await closedWithin(other, 3000), { code: 1008, reason: 'Session revoked' }, 'the kicked socket closes')
    await waitForText('#notice', /kick user: done/)
    await waitForText('#stat-connections', '1')
    t.ok(await page.locator('#users-table tr[data-user="root"] button.kick').isDisabled(), 'an admin cannot kick their own dashboard')
    t.ok(await page.locator('#chart-connections polyline').count() >= 1, 'the chart is drawn')

    await screenshot('admin-page.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })

  t.test('/docs renders the OpenAPI UI under the app\'s CSP', async (t) => {
    const built = await build(t)
    const { page, errors, screenshot, waitForText } = await openPage(browser)
    await page.goto(`${built.url}/docs`)
    await waitForText('.swagger-ui .info .title', /^wsgate/, 10_000)
    await page.locator('.opblock-summary-path', { hasText: /^\/token$/ }).first().waitFor()
    await screenshot('docs-page.png')
    t.same(errors, [], 'no script errors or CSP violations')
  })
}

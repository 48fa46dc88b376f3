import { join } from 'node:path'
import { build as bundle } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { revoke } from '../../src/client/index.js'
import { loadConfig } from '../../src/config.js'
import { decodeJwtPart, forgeToken, nowSeconds } from '../auth/forge.js'
import { build, testEnv, waitFor, type Built, type TestContext } from '../helper.js'
import type { HookApp, HookSnapshot, MountOptions } from './hook-app-api.js'
import { chromiumMissing, launch, openPage, ROOT } from './browser.js'
import { bindReact, reactMissing, type ReactMajor } from './react-versions.js'

/*
 * useWsgate on real React: test/web/hook-app.ts renders it with react-dom
 * in Chromium against a real app, bundled with one React major
 * (test/web/react18-hook.e2e.test.ts, react19-hook.e2e.test.ts).
 */

interface Mounted {
  page: Page
  errors: string[]
  snapshot: () => Promise<HookSnapshot>
  /** Waits until the page's snapshot passes `predicate`. */
  until: (predicate: (s: HookSnapshot) => boolean, what: string, timeoutMs?: number) => Promise<HookSnapshot>
}

/**
 * Opens the app's own 404 page and adds the bundle to it: a document the
 * test fulfilled itself would count as public to Chromium, which then
 * blocks its sockets to 127.0.0.1.
 */
type Mount = (t: TestContext, server: Built, options: Omit<MountOptions, 'url'>) => Promise<Mounted>

const mounter = (browser: Browser, appScript: string): Mount => async (t, server, options) => {
  const { page, errors } = await openPage(t, browser)
  await page.route(`${server.url}/hook-app/app.js`, async (route) => { await route.fulfill({ contentType: 'text/javascript', body: appScript }) })
  await page.goto(`${server.url}/hook-app/`)
  await page.addScriptTag({ url: `${server.url}/hook-app/app.js`, type: 'module' })
  await page.waitForFunction(() => 'hookApp' in window)
  await page.evaluate((o) => { (window as unknown as { hookApp: HookApp }).hookApp.mount(o) }, { ...options, url: `${server.wsUrl}/ws` })
  const snapshot = async (): Promise<HookSnapshot> => await page.evaluate(() => (window as unknown as { hookApp: HookApp }).hookApp.snapshot())
  return {
    page,
    errors,
    snapshot,
    until: async (predicate, what, timeoutMs = 10_000) => {
      // Polled from here: the app's CSP (no eval) rules out a predicate sent into the page as text.
      let last: HookSnapshot | undefined
      try {
        await waitFor(async () => predicate(last = await snapshot()), timeoutMs, what)
      } catch (err) {
        throw new Error(`${(err as Error).message}; the hook shows ${JSON.stringify(last)}`)
      }
      if (last === undefined) throw new Error(`${what}: no snapshot was taken`)
      return last
    }
  }
}

const pageErrors = (errors: string[]): string[] => errors.filter((e) => !e.includes('status of 404'))

/** The hook's tests, on React `major`. */
export async function testHookOn (t: Test, major: ReactMajor): Promise<void> {
  t.setTimeout(90_000)
  for (const missing of [chromiumMissing(), reactMissing(major)]) {
    if (missing !== undefined) throw new Error(missing)
  }
  const bundled = await bundle({
    entryPoints: [join(ROOT, 'test', 'web', 'hook-app.ts')],
    bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', plugins: [bindReact(major)]
  })
  const browser = await launch()
  t.teardown(async () => { await browser.close() })
  const mount = mounter(browser, bundled.outputFiles[0]?.text ?? '')
  const built = await build(t)

  t.test('status changes, messages, and an unmount that leaves no socket and no timer', async (t) => {
    await built.app.users.create({ username: 'react', passwordHash: await built.app.passwords.hash('react-password') })
    const tokens = await built.login('react', 'react-password')
    const hook = await mount(t, built, { tokens })
    await hook.until((s) => s.status === 'open', 'open')
    t.ok(await hook.page.evaluate(() => (window as unknown as { hookApp: HookApp }).hookApp.send({ type: 'test', n: 7 })), 'send on an open socket')
    const echoed = await hook.until((s) => s.messages.some((m) => m.type === 'test'), 'the echo')
    t.comment(`React ${echoed.react}`)
    t.match(echoed.react, new RegExp(`^${major}\\.`), `React ${major}`)
    t.same(echoed.statuses, ['idle', 'connecting', 'open'], 'each status rendered, in order')
    t.match(echoed.messages.find((m) => m.type === 'connection_established'), { user: 'react' })
    t.match(echoed.messages.find((m) => m.type === 'test'), { n: 7, user: 'react' })
    t.equal(built.app.hub.connectionsOf('react'), 1)

    await hook.page.evaluate(() => { (window as unknown as { hookApp: HookApp }).hookApp.unmount() })
    const after = await hook.until((s) => s.liveSockets === 0, 'the socket closed')
    t.equal(after.pendingTasks, 0, 'no reconnect or refresh is scheduled: nothing can update the unmounted hook')
    const rendersAtUnmount = after.renders
    // The server's side of the close, then one more round through the page:
    // a state update after unmount would have re-rendered, and nothing may.
    await waitFor(() => built.app.hub.connectionsOf('react') === 0, 5000, 'the server\'s side of the close')
    t.equal((await hook.snapshot()).renders, rendersAtUnmount, 'no render after unmount')
    t.same(pageErrors(hook.errors), [])
  })

  t.test('under StrictMode the double mount leaves one socket and one of each message', async (t) => {
    await built.app.users.create({ username: `strict${major}`, passwordHash: await built.app.passwords.hash('strict-password') })
    const tokens = await built.login(`strict${major}`, 'strict-password')
    const hook = await mount(t, built, { tokens, strict: true })
    await hook.until((s) => s.status === 'open', 'open')
    await waitFor(() => built.app.hub.connectionsOf(`strict${major}`) === 1, 5000, 'one socket on the server')
    t.ok(await hook.page.evaluate(() => (window as unknown as { hookApp: HookApp }).hookApp.send({ type: 'test', n: 1 })))
    const echoed = await hook.until((s) => s.messages.some((m) => m.type === 'test'), 'the echo')
    t.equal(echoed.mounts, 2, 'StrictMode mounted twice')
    t.ok(echoed.createdSockets <= 2, `${echoed.createdSockets} socket(s) created`)
    t.equal(echoed.liveSockets, 1, 'the first mount\'s socket is closed')
    t.equal(echoed.messages.filter((m) => m.type === 'test').length, 1, 'the echo once')
    t.equal(echoed.messages.filter((m) => m.type === 'connection_established').length, 1, 'one connection in the messages')
    t.equal(built.app.hub.connectionsOf(`strict${major}`), 1)
    await hook.page.evaluate(() => { (window as unknown as { hookApp: HookApp }).hookApp.unmount() })
    await hook.until((s) => s.liveSockets === 0 && s.pendingTasks === 0, 'nothing left after unmount')
    t.same(pageErrors(hook.errors), [])
  })

  t.test('reconnects after a server restart', async (t) => {
    const first = await build(t)
    const tokens = await first.login()
    const hook = await mount(t, first, { tokens, backoff: { baseMs: 50, maxMs: 200 } })
    await hook.until((s) => s.status === 'open', 'open')
    await first.app.close()
    const down = await hook.until((s) => s.status === 'reconnecting', 'reconnecting')
    t.match(down.closes[0], { code: 1001, reason: 'Server shutting down' }, 'the first close is the shutdown; refused retries may follow')
    // Same database, secret and port: the session and the token still hold.
    const again = await buildApp(loadConfig(testEnv(first.dir)))
    t.teardown(async () => { await again.close() })
    await again.listen({ host: '127.0.0.1', port: Number(new URL(first.url).port) })
    // statuses is written by an effect after the render that shows the status: wait for both.
    const back = await hook.until((s) => s.statuses.at(-1) === 'open' && s.messages.filter((m) => m.type === 'connection_established').length === 2, 'open again')
    t.same(back.statuses.slice(0, 4), ['idle', 'connecting', 'open', 'reconnecting'])
    t.equal(back.statuses.at(-1), 'open')
    t.same(pageErrors(hook.errors).filter((e) => !e.includes('WebSocket connection')), [], 'no errors but the refused reconnects')
  })

  t.test('refreshes in band before expiry, without reconnecting', async (t) => {
    const tokens = await built.login()
    const { sid } = decodeJwtPart(tokens.access_token, 1)
    // Due for refresh half a second after it is issued, yet valid for 30 s: on a busy machine the page
    // may take seconds to connect, and a token that had expired by then would be replaced at connect.
    const short = forgeToken({ sub: 'user', sid, roles: [], iat: nowSeconds(), exp: nowSeconds() + 30 })
    const hook = await mount(t, built, { tokens: { ...tokens, access_token: short }, refreshBeforeMs: 29_500 })
    const refreshed = await hook.until((s) => s.messages.some((m) => m.type === 'refreshed'), 'refreshed')
    const message = refreshed.messages.find((m) => m.type === 'refreshed')
    t.ok(Number(message?.expiresAt) > nowSeconds() + 60, 'the new token\'s expiry')
    t.equal(refreshed.status, 'open')
    t.same(refreshed.statuses, ['idle', 'connecting', 'open'], 'no reconnect')
    t.same(pageErrors(hook.errors), [])
  })

  t.test('needs-login after the session is revoked, with nothing scheduled', async (t) => {
    const tokens = await built.login()
    const hook = await mount(t, built, { tokens })
    await hook.until((s) => s.status === 'open', 'open')
    await revoke(built.url, tokens.refresh_token ?? '')
    const stopped = await hook.until((s) => s.status === 'needs-login', 'needs-login')
    t.match(stopped.lastClose, { code: 1008, reason: 'Session revoked' })
    t.equal(stopped.pendingTasks, 0, 'no further attempt is scheduled')
    t.equal(stopped.liveSockets, 0)
    t.same(pageErrors(hook.errors), [])
  })
}

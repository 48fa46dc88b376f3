import t from 'tap'
import type { TestContext } from '../helper.js'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'
import { buildPages, openPage, sharedBrowser, type WatchedPage } from './browser.js'

/*
 * The dashboard's user management and audit view in a real Chromium against
 * a real app: each action is clicked on the page and its effect checked
 * through the API, not through the page. One browser and one app for the
 * file; each test works on users of its own.
 */

t.setTimeout(120_000)

await buildPages()
const built = await build(t)
await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
const rootToken = (await built.login('root', 'root-password')).access_token

interface ApiAccount { username: string, roles: string[], disabled: boolean }

/** What the API says about a user: undefined when there is none. */
async function account (name: string): Promise<ApiAccount | undefined> {
  const res = await built.app.inject({ url: '/admin/users', headers: { authorization: `Bearer ${rootToken}` } })
  return res.json<{ users: ApiAccount[] }>().users.find((u) => u.username === name)
}

async function sessionIds (name: string): Promise<string[]> {
  const res = await built.app.inject({ url: `/admin/users/${name}/sessions`, headers: { authorization: `Bearer ${rootToken}` } })
  return res.json<{ sessions: Array<{ id: string }> }>().sessions.map((s) => s.id)
}

async function canLogIn (name: string, password: string): Promise<boolean> {
  const res = await built.app.inject({ method: 'POST', url: '/token', payload: { grant_type: 'password', username: name, password } })
  return res.statusCode === 200
}

/** The session id an access token carries. */
function sidOf (accessToken: string): string {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid
}

async function createUser (name: string): Promise<void> {
  await built.app.users.create({ username: name, passwordHash: await built.app.passwords.hash(`${name}-password`), roles: [] })
}


const shared = sharedBrowser(t)
if (shared !== undefined) {
  const browser = shared

  /** A page logged in as root, with `name`'s detail open when given. */
  async function dashboard (t: TestContext, name?: string): Promise<WatchedPage> {
    const watched = await openPage(t, browser.current)
    const { page, waitForText } = watched
    await page.goto(`${built.url}/admin/`)
    await page.fill('#username', 'root')
    await page.fill('#password', 'root-password')
    await page.click('#login')
    await waitForText('#whoami', 'root')
    if (name !== undefined) {
      await page.click(`#users-table tr[data-user="${name}"] button.manage`)
      await waitForText('#detail-name', name)
    }
    return watched
  }

  t.test('create a user with a role; a refusal shows in the notice', async (t) => {
    const { page, errors, waitForText } = await dashboard(t)
    await page.fill('#new-username', 'nina')
    await page.fill('#new-password', 'nina-password')
    await page.fill('#new-role', 'ops')
    await page.click('#create-user')
    await waitForText('#notice', 'create user nina: done')
    t.match(await account('nina'), { username: 'nina', roles: ['ops'], disabled: false }, 'created with the role')
    t.ok(await canLogIn('nina', 'nina-password'), 'with the password typed')
    await page.locator('#users-table tr[data-user="nina"]').waitFor()
    t.equal(await page.inputValue('#new-username'), '', 'the form is cleared')

    await page.fill('#new-username', 'nina')
    await page.fill('#new-password', 'other-password')
    await page.click('#create-user')
    await waitForText('#notice', 'POST /admin/users: User "nina" already exists')
    t.equal(await page.getAttribute('#notice', 'class'), 'notice bad')
    t.ok(await canLogIn('nina', 'nina-password'), 'the first nina is untouched')
    // Chromium logs every failed fetch; the 409 is the only error expected.
    t.same(errors.filter((e) => !e.includes('status of 409 (Conflict)')), [], 'no script errors or CSP violations')
  })

  t.test('disable, then enable', async (t) => {
    await createUser('dave')
    const { access_token: token } = await built.login('dave', 'dave-password')
    const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
    t.teardown(() => { socket.close() })
    const { page, errors, waitForText } = await dashboard(t, 'dave')
    await page.click('#detail-toggle')
    await waitForText('#notice', 'disable dave: done')
    t.match(await account('dave'), { disabled: true })
    t.same(await closedWithin(socket, 5000), { code: 1008, reason: 'Session revoked' }, 'their socket closes')
    t.notOk(await canLogIn('dave', 'dave-password'))
    await waitForText('#users-table tr[data-user="dave"] td:nth-child(3)', 'disabled')
    t.equal(await page.textContent('#detail-toggle'), 'Enable')

    await page.click('#detail-toggle')
    await waitForText('#notice', 'enable dave: done')
    t.match(await account('dave'), { disabled: false })
    t.ok(await canLogIn('dave', 'dave-password'))
    t.same(errors, [])
  })

  t.test('grant a role, then remove it', async (t) => {
    await createUser('greta')
    const { page, errors, waitForText } = await dashboard(t, 'greta')
    await page.fill('#add-role', 'auditor')
    await page.click('#add-role-form button[type="submit"]')
    await waitFor(async () => (await account('greta'))?.roles.includes('auditor') === true, 5000, 'the role granted')
    await page.locator('#detail-roles .chip[data-role="auditor"]').waitFor()
    await page.click('#detail-roles button.remove-role[data-role="auditor"]')
    await waitFor(async () => (await account('greta'))?.roles.length === 0, 5000, 'the role removed')
    await waitForText('#detail-roles', 'no roles')
    t.same((await account('greta'))?.roles, [])
    t.same(errors, [])
  })

  t.test('reset a password: the old one stops working, the new one works', async (t) => {
    await createUser('paul')
    const { page, errors, waitForText } = await dashboard(t, 'paul')
    await page.fill('#reset-password', 'fresh-password')
    await page.click('#reset-password-form button[type="submit"]')
    await waitForText('#notice', 'reset password of paul: done')
    t.notOk(await canLogIn('paul', 'paul-password'), 'the old password is refused')
    t.ok(await canLogIn('paul', 'fresh-password'), 'the new one works')
    t.equal(await page.inputValue('#reset-password'), '', 'the field is cleared')
    t.same(errors, [])
  })

  t.test('see a user\'s sessions and revoke one: its socket closes, the other stays', async (t) => {
    await createUser('sara')
    const kept = await built.login('sara', 'sara-password')
    const ended = await built.login('sara', 'sara-password')
    const endedSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${ended.access_token}`)
    t.teardown(() => { endedSocket.close() })
    const keptSid = sidOf(kept.access_token)
    const endedSid = sidOf(ended.access_token)
    const { page, errors, screenshot } = await dashboard(t, 'sara')
    await page.locator(`#sessions-table tr[data-session="${endedSid}"]`).waitFor()
    t.equal(await page.locator('#sessions-table tr[data-session]').count(), 2, 'both sessions listed')
    await screenshot('admin-user-detail.png')
    await page.click(`#sessions-table tr[data-session="${endedSid}"] button.revoke`)
    t.same(await closedWithin(endedSocket, 5000), { code: 1008, reason: 'Session revoked' }, 'the revoked session\'s socket closes')
    t.same(await sessionIds('sara'), [keptSid], 'the other session lives')
    await page.locator(`#sessions-table tr[data-session="${endedSid}"]`).waitFor({ state: 'detached' })
    t.equal(await page.locator('#sessions-table tr[data-session]').count(), 1)
    t.same(errors, [])
  })

  t.test('delete asks first, naming the user; cancel keeps them, confirm deletes', async (t) => {
    await createUser('dora')
    const { page, errors, waitForText, screenshot } = await dashboard(t, 'dora')
    await page.click('#detail-delete')
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' })
    t.match(await page.textContent('#confirm-text'), /^Delete user dora\?/)
    t.equal(await page.textContent('#confirm-yes'), 'Delete dora')
    await screenshot('admin-confirm-delete.png')
    await page.click('#confirm-no')
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' })
    t.ok(await account('dora'), 'cancel deletes nothing')

    await page.click('#detail-delete')
    await page.click('#confirm-yes')
    await waitForText('#notice', 'delete dora: done')
    t.equal(await account('dora'), undefined, 'gone from the API')
    await page.locator('#users-table tr[data-user="dora"]').waitFor({ state: 'detached' })
    t.ok(await page.locator('#user-detail').isHidden(), 'the detail closes')
    t.ok(await page.locator('#users-table tr[data-user="root"] button.manage').isVisible())
    t.same(errors, [])
  })

  t.test('audit view: filters by kind, outcome, user, IP and time, and pages', async (t) => {
    for (let i = 0; i < 12; i++) {
      built.app.audit.record({ kind: 'admin_action', username: 'pager', ip: '10.0.0.9', userAgent: null, outcome: 'success', reason: `row ${i}` })
    }
    for (let i = 0; i < 2; i++) {
      const res = await built.app.inject({ method: 'POST', url: '/token', remoteAddress: '10.0.0.7', payload: { grant_type: 'password', username: 'pager', password: 'wrong' } })
      t.equal(res.statusCode, 401)
    }
    await built.app.auditLog.flush()
    const { page, errors, waitForText, screenshot } = await dashboard(t)
    const rows = page.locator('#audit-table tbody tr[data-audit-id]')
    // The view's own requests: the failures panel asks for limit=20, which the view never does.
    const apply = async (): Promise<string> => {
      const response = page.waitForResponse((res) => res.url().includes('/admin/audit?') && !res.url().includes('limit=20'))
      await page.click('#audit-apply')
      return new URL((await response).url()).search
    }
    // The first page, unfiltered, is shown at login.
    await rows.first().waitFor()

    await page.fill('#audit-user', 'pager')
    await page.selectOption('#audit-limit', '10')
    t.match(await apply(), /user=pager/)
    await waitForText('#audit-page', 'page 1')
    await waitFor(async () => await rows.count() === 10, 5000, 'ten rows on page one')
    t.match(await rows.first().textContent(), /failure/, 'newest first: the failed logins')
    t.ok(await page.locator('#audit-newer').isDisabled())
    await page.click('#audit-older')
    await waitForText('#audit-page', 'page 2')
    await waitFor(async () => await rows.count() === 4, 5000, 'the last four rows on page two')
    t.match(await rows.last().textContent(), /row 0/, 'down to the oldest')
    t.ok(await page.locator('#audit-older').isDisabled(), 'no page after the last')
    await page.click('#audit-newer')
    await waitForText('#audit-page', 'page 1')
    await waitFor(async () => await rows.count() === 10, 5000, 'page one again')

    await page.selectOption('#audit-kind', 'password_grant')
    await page.selectOption('#audit-outcome', 'failure')
    t.match(await apply(), /kind=password_grant&outcome=failure&user=pager/)
    await waitFor(async () => await rows.count() === 2, 5000, 'the two failed logins')
    await page.fill('#audit-ip', '10.0.0.7')
    t.match(await apply(), /ip=10\.0\.0\.7/)
    await waitFor(async () => await rows.count() === 2, 5000, 'both from 10.0.0.7')
    t.match(await rows.first().textContent(), /10\.0\.0\.7/)
    await page.fill('#audit-ip', '10.0.0.9')
    await apply()
    await waitForText('#audit-table tbody', 'No entries match')

    await page.fill('#audit-ip', '')
    await page.selectOption('#audit-kind', 'admin_action')
    await page.selectOption('#audit-outcome', 'success')
    await page.fill('#audit-from', '2099-01-01T00:00:00')
    t.match(await apply(), /from=2099-01-01T\d\d%3A00%3A00\.000Z/, 'the local time goes as UTC')
    await waitForText('#audit-table tbody', 'No entries match')
    await page.fill('#audit-from', '')
    await page.fill('#audit-to', '2099-01-01T00:00:00')
    t.match(await apply(), /to=2099/)
    await waitFor(async () => await rows.count() === 10, 5000, 'everything before 2099')
    await screenshot('admin-audit.png')

    // The API agrees with what the page showed.
    const res = await built.app.inject({ url: '/admin/audit?user=pager&kind=admin_action&limit=500', headers: { authorization: `Bearer ${rootToken}` } })
    t.equal(res.json<{ items: unknown[] }>().items.length, 12)
    t.same(errors, [])
  })
}

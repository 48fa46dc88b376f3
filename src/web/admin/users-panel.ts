import { byId, h, notice } from '../dom.js'
import { emptyRow, when } from './panels.js'

/*
 * The users panel: the table (kick, manage), a create form, and the chosen
 * user's detail: disable / enable, delete, reset password, roles and live
 * sessions. Every change goes through the admin REST API; a refusal shows in
 * the notice, through `api`.
 */

export interface Account {
  username: string
  roles: string[]
  disabled: boolean
}

interface Session {
  id: string
  createdAt: string
  expiresAt: string
}

/** A REST call: `{ value }` when it worked (a 204 gives `{ value: undefined }`), undefined when it failed and was shown. */
export type Api = <T>(path: string, init?: { method?: string, json?: unknown }) => Promise<{ value: T } | undefined>

export interface UsersPanel {
  load: () => Promise<void>
  /** Forgets the chosen user, as at log out. */
  reset: () => void
}

const userPath = (username: string): string => `/admin/users/${encodeURIComponent(username)}`

export function usersPanel (api: Api, self: () => string | undefined, kick: (username: string) => void): UsersPanel {
  const ui = {
    users: byId('users-table', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
    createForm: byId('create-user-form', HTMLFormElement),
    newName: byId('new-username', HTMLInputElement),
    newPassword: byId('new-password', HTMLInputElement),
    newRole: byId('new-role', HTMLInputElement),
    detail: byId('user-detail', HTMLElement),
    detailName: byId('detail-name', HTMLElement),
    detailState: byId('detail-state', HTMLElement),
    toggle: byId('detail-toggle', HTMLButtonElement),
    remove: byId('detail-delete', HTMLButtonElement),
    roles: byId('detail-roles', HTMLElement),
    roleForm: byId('add-role-form', HTMLFormElement),
    role: byId('add-role', HTMLInputElement),
    passwordForm: byId('reset-password-form', HTMLFormElement),
    password: byId('reset-password', HTMLInputElement),
    sessions: byId('sessions-table', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
    reloadSessions: byId('reload-sessions', HTMLButtonElement),
    dialog: byId('confirm-dialog', HTMLDialogElement),
    dialogText: byId('confirm-text', HTMLParagraphElement),
    dialogYes: byId('confirm-yes', HTMLButtonElement)
  }
  let accounts: Account[] = []
  let chosen: string | undefined

  const current = (): Account | undefined => accounts.find((a) => a.username === chosen)

  async function load (): Promise<void> {
    const got = await api<{ users: Account[] }>('/admin/users')
    if (got === undefined) return
    accounts = got.value.users
    renderTable()
    renderDetail()
  }

  function renderTable (): void {
    if (accounts.length === 0) {
      ui.users.replaceChildren(emptyRow(4, 'No users'))
      return
    }
    const me = self()
    ui.users.replaceChildren(...accounts.map((user) => {
      const kickButton = h('button', { type: 'button', class: 'danger small kick', title: `Close every socket of ${user.username} (1008 Session revoked)` }, 'Kick')
      // Kicking yourself would close this dashboard's own socket.
      kickButton.disabled = user.username === me
      kickButton.addEventListener('click', () => { kick(user.username) })
      const manage = h('button', { type: 'button', class: 'secondary small manage' }, 'Manage')
      manage.addEventListener('click', () => { choose(user.username) })
      return h('tr', { 'data-user': user.username, class: user.username === chosen ? 'chosen' : '' },
        h('td', {}, h('b', {}, user.username), user.username === me ? h('span', { class: 'muted' }, ' (you)') : null),
        h('td', {}, ...(user.roles.length === 0 ? [h('span', { class: 'muted' }, '–')] : user.roles.map((role) => h('span', { class: 'chip' }, role)))),
        h('td', {}, user.disabled ? h('span', { class: 'chip off' }, 'disabled') : 'active'),
        h('td', { class: 'actions' }, manage, ' ', kickButton))
    }))
  }

  function choose (username: string | undefined): void {
    chosen = username
    ui.password.value = ''
    ui.role.value = ''
    renderTable()
    renderDetail()
    if (username !== undefined) void loadSessions()
  }

  function renderDetail (): void {
    const account = current()
    ui.detail.hidden = account === undefined
    if (account === undefined) return
    const mine = account.username === self()
    ui.detail.dataset.user = account.username
    ui.detailName.textContent = account.username
    ui.detailState.textContent = account.disabled ? 'disabled' : 'active'
    ui.detailState.className = account.disabled ? 'chip off' : 'chip'
    ui.toggle.textContent = account.disabled ? 'Enable' : 'Disable'
    // The server refuses these for your own account; the buttons say so first.
    ui.toggle.disabled = mine && !account.disabled
    ui.remove.disabled = mine
    ui.roles.replaceChildren(...(account.roles.length === 0
      ? [h('span', { class: 'muted' }, 'no roles')]
      : account.roles.map((role) => {
        const drop = h('button', { type: 'button', class: 'link remove-role', 'data-role': role, title: `Remove role ${role}`, 'aria-label': `Remove role ${role}` }, '×')
        drop.addEventListener('click', () => { void setRoles(account, account.roles.filter((r) => r !== role)) })
        return h('span', { class: 'chip', 'data-role': role }, role, drop)
      })))
  }

  async function loadSessions (): Promise<void> {
    const username = chosen
    if (username === undefined) return
    const got = await api<{ sessions: Session[] }>(`${userPath(username)}/sessions`)
    if (got === undefined || username !== chosen) return
    const rows = got.value.sessions
    if (rows.length === 0) {
      ui.sessions.replaceChildren(emptyRow(4, 'No live sessions'))
      return
    }
    ui.sessions.replaceChildren(...rows.map((s) => {
      const revoke = h('button', { type: 'button', class: 'danger small revoke', title: 'End this session: its refresh token stops working and its sockets close' }, 'Revoke')
      revoke.addEventListener('click', () => { void change(`revoke session ${s.id.slice(0, 8)}… of ${username}`, `${userPath(username)}/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' }) })
      return h('tr', { 'data-session': s.id },
        h('td', { class: 'mono', title: s.id }, `${s.id.slice(0, 8)}…`),
        h('td', { class: 'mono', title: s.createdAt }, when(s.createdAt)),
        h('td', { class: 'mono', title: s.expiresAt }, when(s.expiresAt)),
        h('td', { class: 'actions' }, revoke))
    }))
  }

  /** One change, then the table and the detail show its effect. */
  async function change (what: string, path: string, init: { method: string, json?: unknown }): Promise<boolean> {
    const done = await api<unknown>(path, init)
    if (done !== undefined) notice(`${what}: done`)
    await load()
    // After a delete the user is gone: no sessions to ask for, and no 404 to show.
    if (current() !== undefined) await loadSessions()
    return done !== undefined
  }

  async function setRoles (account: Account, roles: string[]): Promise<boolean> {
    return await change(`roles of ${account.username}`, `${userPath(account.username)}/roles`, { method: 'PUT', json: { roles } })
  }

  /** Resolves true when the admin confirms; Escape or Cancel is false. */
  async function confirm (text: string, action: string): Promise<boolean> {
    ui.dialogText.textContent = text
    ui.dialogYes.textContent = action
    ui.dialog.returnValue = ''
    ui.dialog.showModal()
    return await new Promise((resolve) => {
      ui.dialog.addEventListener('close', () => { resolve(ui.dialog.returnValue === 'yes') }, { once: true })
    })
  }

  ui.createForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const username = ui.newName.value.trim()
    const role = ui.newRole.value.trim()
    void change(`create user ${username}`, '/admin/users', { method: 'POST', json: { username, password: ui.newPassword.value, roles: role === '' ? [] : [role] } })
      .then((ok) => { if (ok) ui.createForm.reset() })
  })

  ui.toggle.addEventListener('click', () => {
    const account = current()
    if (account === undefined) return
    const verb = account.disabled ? 'enable' : 'disable'
    void change(`${verb} ${account.username}`, `${userPath(account.username)}/${verb}`, { method: 'POST' })
  })

  ui.remove.addEventListener('click', () => {
    const account = current()
    if (account === undefined) return
    void confirm(`Delete user ${account.username}? Their sessions end and their sockets close. This cannot be undone.`, `Delete ${account.username}`)
      .then(async (yes) => {
        if (!yes) return
        if (await change(`delete ${account.username}`, userPath(account.username), { method: 'DELETE' })) choose(undefined)
      })
  })

  ui.roleForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const account = current()
    const role = ui.role.value.trim()
    if (account === undefined || role === '') return
    void setRoles(account, [...account.roles, role]).then((ok) => { if (ok) ui.role.value = '' })
  })

  ui.passwordForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const account = current()
    if (account === undefined) return
    void change(`reset password of ${account.username}`, `${userPath(account.username)}/password`, { method: 'POST', json: { password: ui.password.value } })
      .then((ok) => { if (ok) ui.password.value = '' })
  })

  ui.reloadSessions.addEventListener('click', () => { void loadSessions() })

  return { load, reset: () => { accounts = []; choose(undefined) } }
}

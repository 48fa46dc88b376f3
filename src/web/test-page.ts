import {
  fetchTestToken, isChannelName, maskToken, TokenSession, WsgateClient,
  type ConnectionStatus, type StatusInfo, type Transport
} from '../client/index.js'
import { ChannelsPanel } from './channels-panel.js'
import { byId, clock, duration, errorText, wsOrigin } from './dom.js'
import { MessageLog } from './log.js'

/*
 * The WebSocket test page. Tokens live in memory only: a reload logs out,
 * and nothing a script on another tab could read is left in storage.
 */

const ui = {
  status: byId('status', HTMLSpanElement),
  loginForm: byId('login-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  login: byId('login', HTMLButtonElement),
  pasteForm: byId('paste-form', HTMLFormElement),
  pasteToken: byId('paste-token', HTMLInputElement),
  testToken: byId('test-token', HTMLButtonElement),
  tokenInfo: byId('token-info', HTMLDivElement),
  tokenMasked: byId('token-masked', HTMLElement),
  tokenUser: byId('token-user', HTMLSpanElement),
  tokenExpiry: byId('token-expiry', HTMLSpanElement),
  logout: byId('logout', HTMLButtonElement),
  authError: byId('auth-error', HTMLParagraphElement),
  endpoint: byId('endpoint', HTMLSelectElement),
  connect: byId('connect', HTMLButtonElement),
  disconnect: byId('disconnect', HTMLButtonElement),
  connInfo: byId('conn-info', HTMLParagraphElement),
  sendForm: byId('send-form', HTMLFormElement),
  message: byId('message', HTMLTextAreaElement),
  ping: byId('ping', HTMLButtonElement),
  getStatus: byId('get-status', HTMLButtonElement),
  channelForm: byId('channel-form', HTMLFormElement),
  channel: byId('channel', HTMLInputElement),
  channelError: byId('channel-error', HTMLParagraphElement),
  channelList: byId('channel-list', HTMLUListElement),
  clear: byId('clear', HTMLButtonElement),
  sendError: byId('send-error', HTMLParagraphElement),
  log: byId('log', HTMLOListElement)
}

const log = new MessageLog(ui.log)
const channels = new ChannelsPanel(ui.channelList, log)
let session: TokenSession | undefined
let client: WsgateClient | undefined

function renderToken (): void {
  ui.tokenInfo.hidden = session === undefined
  if (session === undefined) return
  ui.tokenMasked.textContent = maskToken(session.accessToken)
  ui.tokenUser.textContent = `${session.username ?? 'unknown user'}${session.canRefresh ? ' (can refresh)' : ''}`
  const exp = session.expiresAt
  ui.tokenExpiry.textContent = exp === null
    ? 'never expires'
    : exp * 1000 > Date.now() ? `expires ${clock(exp * 1000).slice(0, 8)} (in ${duration(exp - Date.now() / 1000)})` : 'expired'
}

function useSession (next: TokenSession | undefined, what: string): void {
  session = next
  ui.authError.textContent = ''
  renderToken()
  if (next !== undefined) log.system(`${what}: token ${maskToken(next.accessToken)} for ${next.username ?? 'an unknown user'}`)
}

function selectedTransport (): Transport {
  const checked = document.querySelector<HTMLInputElement>('input[name="transport"]:checked')
  const value = checked?.value
  return value === 'query' || value === 'message' ? value : 'subprotocol'
}

function showStatus (status: ConnectionStatus, info: StatusInfo): void {
  ui.status.textContent = status
  ui.status.dataset.status = status
  const live = status === 'connecting' || status === 'open' || status === 'reconnecting'
  ui.connect.disabled = live
  ui.disconnect.disabled = !live
  channels.render()
  if (status === 'reconnecting') {
    const why = info.close !== undefined ? `after ${info.close.code} ${info.close.reason}` : info.error ?? ''
    ui.connInfo.textContent = `Reconnecting in ${((info.delayMs ?? 0) / 1000).toFixed(1)} s (attempt ${info.attempt ?? 1}) ${why}`
    log.system(ui.connInfo.textContent)
  } else if (status === 'needs-login') {
    const why = info.close?.reason ?? info.error ?? 'the credentials were refused'
    // Forbidden (a user token on /admin/ws) leaves the token good for /ws; every other reason means it is dead.
    if (why !== 'Forbidden') useSession(undefined, 'Token dropped')
    ui.connInfo.textContent = ''
    ui.authError.textContent = `Stopped: ${why}. Log in again.`
    log.system(`Stopped (${why}): log in again`)
    ui.password.focus()
  } else if (status === 'closed') {
    ui.connInfo.textContent = 'Not connected.'
  }
}

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault()
  ui.login.disabled = true
  TokenSession.login('', ui.username.value, ui.password.value, { onChange: renderToken })
    .then((next) => {
      ui.password.value = ''
      useSession(next, `Logged in as ${ui.username.value}`)
    }, (err: unknown) => { ui.authError.textContent = `Login failed: ${errorText(err)}` })
    .finally(() => { ui.login.disabled = false })
})

ui.pasteForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const token = ui.pasteToken.value.trim()
  if (token === '') {
    ui.authError.textContent = 'Paste an access token first.'
    return
  }
  // Out of the input, so it is not left on screen in full.
  ui.pasteToken.value = ''
  useSession(new TokenSession('', token), 'Using a pasted token')
})

ui.testToken.addEventListener('click', () => {
  fetchTestToken('').then(
    (token) => { useSession(new TokenSession('', token), 'Fetched /test-token') },
    (err: unknown) => { ui.authError.textContent = `No test token: ${errorText(err)}` })
})

ui.logout.addEventListener('click', () => {
  const ending = session
  if (ending === undefined) return
  // The server closes this session's sockets itself (1008 Session revoked); the log shows it.
  useSession(undefined, 'Logged out')
  log.system('Logged out: session revoked')
  ending.logout().catch((err: unknown) => { ui.authError.textContent = `Logout failed: ${errorText(err)}` })
})

ui.connect.addEventListener('click', () => {
  const current = session
  if (current === undefined) {
    ui.authError.textContent = 'Log in, paste a token or fetch the test token first.'
    return
  }
  client?.disconnect()
  const transport = selectedTransport()
  const path = ui.endpoint.value
  ui.connInfo.textContent = ''
  log.system(`Connecting to ${path}, token in the ${transport === 'message' ? 'first message' : transport}`)
  client = new WsgateClient({
    url: `${wsOrigin()}${path}`,
    getToken: current.getToken,
    transport,
    onStatus: showStatus,
    onClose: (close) => { log.close(close) },
    onMessage: (message) => {
      log.incoming(message)
      if (message.type === 'connection_established') {
        ui.connInfo.textContent = `Connected to ${path} as ${String(message.user)}.`
      }
      if (message.type === 'refreshed') renderToken()
    }
  })
  channels.attach(client)
  client.connect()
})

ui.disconnect.addEventListener('click', () => {
  client?.disconnect()
  log.system('Disconnected by you (1000)')
})

function sendNow (message: unknown, raw?: string): void {
  ui.sendError.textContent = ''
  if (client?.send(raw ?? JSON.stringify(message)) !== true) {
    ui.sendError.textContent = 'Not connected.'
    return
  }
  log.outgoing(message)
}

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const text = ui.message.value.trim()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    ui.sendError.textContent = `Not JSON: ${errorText(err)}`
    return
  }
  // Sent as typed, so the server's answer to a non-object or a missing type can be tried too.
  sendNow(parsed, text)
})

ui.ping.addEventListener('click', () => { sendNow({ type: 'ping' }) })
ui.getStatus.addEventListener('click', () => { sendNow({ type: 'get_status' }) })
ui.channelForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const channel = ui.channel.value.trim()
  ui.channelError.textContent = ''
  if (!isChannelName(channel)) {
    ui.channelError.textContent = 'A channel name is 1 to 128 of A-Z a-z 0-9 _ . : @ -'
    return
  }
  ui.channel.value = ''
  channels.follow(channel)
})
ui.clear.addEventListener('click', () => { log.clear() })
ui.message.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) ui.sendForm.requestSubmit()
})

setInterval(renderToken, 1000)
showStatus('idle', {})
ui.connInfo.textContent = 'Get a token, then connect.'

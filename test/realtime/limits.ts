import type { Test } from 'tap'
import WebSocket from 'ws'
import { ApiErrors } from '../../src/errors.js'
import { loginAdmin } from '../admin/admin.js'
import { build, waitFor, type Built } from '../helper.js'
import { TestSocket } from '../ws-client.js'

interface Refused {
  status: number
  body: Record<string, unknown>
}

/** A handshake the server must refuse: resolves with the HTTP answer, rejects if it upgrades. */
async function refusedHandshake (url: string, ip: string): Promise<Refused> {
  const ws = new WebSocket(url, { headers: { 'x-forwarded-for': ip } })
  return await new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate()
      reject(new Error(`${url} from ${ip} was upgraded`))
    })
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }) })
    })
  })
}

/** A socket without credentials: upgraded, then pending until it sends `authenticate`. */
async function pending (built: Built, ip: string): Promise<TestSocket> {
  return await TestSocket.open(`${built.wsUrl}/ws`, { headers: { 'x-forwarded-for': ip } })
}

async function withToken (built: Built, token: string, ip: string): Promise<TestSocket> {
  return await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`, { headers: { 'x-forwarded-for': ip } })
}

const refusals = (built: Built): Record<string, number> => ({ ...built.app.realtimeStats.snapshot().refusedHandshakes })

// TRUST_PROXY lets one test process speak for several client addresses.
const LIMITS = { TRUST_PROXY: 'true', WS_MAX_PENDING_PER_IP: '3', WS_MAX_PENDING: '5' }
const A = '203.0.113.1'
const B = '203.0.113.2'
const C = '203.0.113.3'

/**
 * The limits on what one client may hold: sockets waiting to authenticate
 * (per address and in all), sockets per address, and channels per socket.
 * Each test builds its own app, configured with the limit it probes.
 */
export function limitsSuite (t: Test): void {
  t.test('handshake caps: pending sockets and sockets per address', async (t) => {
    t.test('sockets waiting to authenticate are capped per IP (429) and in total (503), before any upgrade', async (t) => {
      const built = await build(t, LIMITS)
      const { access_token: token } = await built.login()
      const fromA = [await pending(built, A), await pending(built, A), await pending(built, A)]
      const overA = await refusedHandshake(`${built.wsUrl}/ws`, A)
      t.equal(overA.status, 429, 'a fourth pending socket from A is refused')
      t.match(overA.body, { error: ApiErrors.rateLimited.error, error_description: /waiting to authenticate/ })
      t.same(refusals(built), { connectionsPerIp: 0, pendingPerIp: 1, pendingTotal: 0 }, 'and counted')

      const authenticated = await withToken(built, token, A)
      t.pass('a socket with its token in the handshake is not pending and is admitted')

      const fromB = [await pending(built, B), await pending(built, B)]
      const overall = await refusedHandshake(`${built.wsUrl}/admin/ws`, C)
      t.equal(overall.status, 503, 'with five pending in all, a first one from C is refused too')
      t.match(overall.body, { error: ApiErrors.unavailable.error, error_description: /waiting to authenticate/ })
      t.same(refusals(built), { connectionsPerIp: 0, pendingPerIp: 1, pendingTotal: 1 })
      const fromC = await withToken(built, token, C)
      t.pass('tokens in the handshake still get in while the pending cap is full')
      t.equal((await fetch(`${built.url}/health`)).status, 200, 'and the server still answers /health')

      // The admitted pending sockets are untouched: one authenticates, which frees its place.
      fromA[0]?.send({ type: 'authenticate', token })
      t.match(await fromA[0]?.next(), { type: 'authenticated', user: 'user' })
      t.equal(built.app.realtimeStats.snapshot().pending, 4)
      const again = await pending(built, A)
      t.pass('A may open a pending socket again once one of its three authenticated')

      // Closing one frees its place once the server has seen the TCP close.
      fromB[0]?.close()
      await waitFor(() => built.app.realtimeStats.snapshot().pending === 4, 3000, 'the closed pending socket to be released')
      const fromC2 = await pending(built, C)
      t.pass('a closed pending socket frees its place in the total')

      for (const socket of [...fromA, ...fromB, again, fromC2, authenticated, fromC]) socket.close()
    })

    t.test('WS_MAX_CONNECTIONS_PER_IP caps every socket of an address, refused before its token is checked', async (t) => {
      const built = await build(t, { TRUST_PROXY: 'true', WS_MAX_CONNECTIONS_PER_IP: '3' })
      const { access_token: token } = await built.login()
      const open = [await withToken(built, token, A), await withToken(built, token, A), await pending(built, A)]
      await built.app.auditLog.flush()
      const audited = (await built.app.auditQuery.page({ kind: 'ws_auth', limit: 500 })).items.length
      const over = await refusedHandshake(`${built.wsUrl}/ws?token=${token}`, A)
      t.equal(over.status, 429)
      t.match(over.body, { error: ApiErrors.rateLimited.error, error_description: 'Too many WebSocket connections from this address' })
      t.equal((await refusedHandshake(`${built.wsUrl}/ws`, A)).status, 429, 'pending ones too')
      t.same(refusals(built), { connectionsPerIp: 2, pendingPerIp: 0, pendingTotal: 0 })
      await built.app.auditLog.flush()
      t.equal((await built.app.auditQuery.page({ kind: 'ws_auth', limit: 500 })).items.length, audited, 'the refused token was never checked')
      const other = await withToken(built, token, B)
      t.pass('another address is not affected')

      // The refusals reach the admin figures, over REST as on /admin/ws.
      const admin = await loginAdmin(built)
      const stats = await built.app.inject({ url: '/admin/stats', headers: { authorization: `Bearer ${admin}` } })
      t.match(stats.json(), { refusedHandshakes: { connectionsPerIp: 2, pendingPerIp: 0, pendingTotal: 0 } })
      for (const socket of [...open, other]) socket.close()
    })

    t.test('the caps have generous defaults', async (t) => {
      const built = await build(t)
      t.equal(built.config.wsMaxPendingPerIp, 20)
      t.equal(built.config.wsMaxPending, 2000)
      t.equal(built.config.wsMaxConnectionsPerIp, 1000)
      // Twenty pending sockets from one address are fine; the twenty-first is not.
      const sockets: TestSocket[] = []
      for (let i = 0; i < 20; i++) sockets.push(await TestSocket.open(`${built.wsUrl}/ws`))
      t.equal((await refusedHandshake(`${built.wsUrl}/ws`, '198.51.100.9')).status, 429, 'X-Forwarded-For is ignored without TRUST_PROXY: the socket address counts')
      for (const socket of sockets) socket.close()
    })
  })

  t.test('subscription cap: WS_MAX_SUBSCRIPTIONS channels per socket', async (t) => {
    t.test('a socket may be in WS_MAX_SUBSCRIPTIONS channels, global included; past that it gets an error frame', async (t) => {
      const built = await build(t, { WS_MAX_SUBSCRIPTIONS: '4' })
      const { access_token: token } = await built.login()
      const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
      for (const channel of ['a', 'b', 'c']) {
        socket.send({ type: 'subscribe', channel })
        t.match(await socket.next(), { type: 'subscribed', channel }, `${channel}: within the cap`)
      }
      socket.send({ type: 'subscribe', channel: 'd', requestId: 'over' })
      t.match(await socket.next(), { type: 'error', code: 'too_many_subscriptions', requestId: 'over' }, 'the fifth channel is refused')
      socket.send({ type: 'subscribe', channel: 'a' })
      t.match(await socket.next(), { type: 'subscribed', channel: 'a', offset: Number, epoch: String }, 'a channel already held is not a new subscription')

      socket.send({ type: 'get_status' })
      const status = await socket.nextOfType('status')
      t.same((status.channels as Array<{ channel: string }>).map((c) => c.channel).sort(), ['a', 'b', 'c', 'global'], 'the refused channel was not joined')

      // Nothing sent to the refused channel reaches the socket: the marker proves nothing came before it.
      const posted = await built.app.inject({ method: 'POST', url: '/messages', headers: { authorization: `Bearer ${token}` }, payload: { type: 'note', channel: 'd' } })
      t.equal(posted.statusCode, 202, 'published to d')
      t.same(await socket.receivedBeforePong(), [], 'no message from channel d')

      socket.send({ type: 'unsubscribe', channel: 'b' })
      t.same(await socket.next(), { type: 'unsubscribed', channel: 'b' })
      socket.send({ type: 'subscribe', channel: 'd' })
      t.match(await socket.next(), { type: 'subscribed', channel: 'd', offset: Number, epoch: String }, 'leaving one makes room')
      socket.close()
    })

    t.test('the default cap is 100 channels and the status frame stays bounded', async (t) => {
      // The message-rate limit is lifted so that only the subscription cap answers.
      const built = await build(t, { WS_MESSAGES_PER_SECOND: '100000', WS_MESSAGE_BURST: '100000' })
      t.equal(built.config.wsMaxSubscriptions, 100)
      const { access_token: token } = await built.login()
      const socket = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
      let refused = 0
      for (let batch = 0; batch < 10; batch++) {
        for (let i = 0; i < 20; i++) socket.send({ type: 'subscribe', channel: `ch-${batch * 20 + i}` })
        for (let i = 0; i < 20; i++) if ((await socket.next()).type === 'error') refused++
      }
      t.equal(refused, 101, '99 of 200 joined next to global, the other 101 were refused')
      socket.send({ type: 'get_status' })
      const status = await socket.nextOfType('status')
      t.equal((status.channels as unknown[]).length, 100)
      t.ok(JSON.stringify(status).length < 8000, 'the status frame is a few KB (a name, offset and epoch per channel), not 130 KB')
      socket.close()
    })

    t.test('an admin socket\'s internal stats channel does not use up its allowance', async (t) => {
      const built = await build(t, { WS_MAX_SUBSCRIPTIONS: '2' })
      await built.app.users.create({ username: 'root', passwordHash: await built.app.passwords.hash('root-password'), roles: ['admin'] })
      const admin = (await built.login('root', 'root-password')).access_token
      const socket = await TestSocket.connect(`${built.wsUrl}/admin/ws?token=${admin}`)
      socket.send({ type: 'subscribe', channel: 'ops' })
      t.match(await socket.nextOfType('subscribed'), { type: 'subscribed', channel: 'ops', offset: Number, epoch: String }, 'global + ops make two')
      socket.send({ type: 'subscribe', channel: 'more' })
      t.match(await socket.nextOfType('error'), { code: 'too_many_subscriptions' })
      socket.close()
    })
  })
}

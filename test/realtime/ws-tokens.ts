import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { build, waitFor } from '../helper.js'
import { TestSocket, closedWithin, type Json } from '../ws-client.js'
import { base64url, forgeToken, nowSeconds } from '../auth/forge.js'
import type { HubClient } from '../../src/realtime/hub.js'

/**
 * Every hostile token of the bad-input suite (issue 3) on `/ws`, over real
 * sockets: the exact close, no join, and nothing seen by a member that was
 * connected all along. REST `/me` gets the same tokens in the bearer tests under test/auth/.
 */

type Flow = 'query' | 'header' | 'subprotocol' | 'message'
const FLOWS: readonly Flow[] = ['query', 'header', 'subprotocol', 'message']

/** A token the server would accept; each case changes one thing. No `sid`: forged tokens belong to no session. */
function claims (extra: object = {}): Json {
  const now = nowSeconds()
  return { sub: 'user', iat: now, exp: now + 1800, roles: [], ...extra }
}

function without (payload: Json, key: string): Json {
  const copy = { ...payload }
  Reflect.deleteProperty(copy, key)
  return copy
}

// A wide clock tolerance, so that a token expired within it stays within it however slow this run is.
const TOLERANCE_SECONDS = 60

interface Case {
  readonly name: string
  /** A fresh token per use, so that time-relative claims stay what the case says. */
  readonly token: () => string
  /** The close reason, or null when the token must be accepted. */
  readonly reason: string | null
}

const WRONG_SECRET = 'another-secret-that-is-also-32-bytes-long!'

function tampered (): string {
  const [header, , signature] = forgeToken(claims()).split('.')
  return `${header ?? ''}.${base64url(claims({ sub: 'admin', roles: ['admin'] }))}.${signature ?? ''}`
}

function oversized (): string {
  const token = forgeToken(claims({ padding: 'x'.repeat(6500) }))
  if (Buffer.byteLength(token) <= 8192) throw new Error(`padding too short: ${token.length} bytes`)
  return token
}

export async function tokenSuite (t: Test): Promise<void> {
  const built = await build(t, { JWT_CLOCK_TOLERANCE_SECONDS: String(TOLERANCE_SECONDS) })
  const hub = built.app.hub

  // Every client the hub ever admits, so that a rejected socket that joined and
  // left again before the test looked still counts.
  const joined: string[] = []
  const join = hub.join.bind(hub)
  hub.join = (client: HubClient): void => {
    joined.push(client.connectionId)
    join(client)
  }

  // A server that a `jku`/`x5u`/`kid` header points at: the app must never call it.
  const fetched: string[] = []
  let keyConnections = 0
  const keyServer = createServer((req: IncomingMessage, res) => {
    fetched.push(`${req.method ?? '?'} ${req.url ?? '?'}`)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [{ kty: 'oct', k: base64url('attacker-key-attacker-key-attacker-key') }] }))
  })
  keyServer.on('connection', () => { keyConnections++ })
  await new Promise<void>((resolve) => { keyServer.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>((resolve) => { keyServer.close(() => { resolve() }) }))
  const keyUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`

  // Every token this suite sends, for the log check at the end.
  const sent: string[] = []

  const { access_token: memberToken } = await built.login()
  sent.push(memberToken)
  const member = await TestSocket.connect(`${built.wsUrl}/ws?token=${memberToken}`)
  t.teardown(() => { member.close() })
  t.equal(hub.size, 1, 'the member is the only socket in the hub')
  const baseJoins = joined.length

  let probes = 0
  /**
   * The member saw nothing. The refused or accepted socket has been answered
   * already, and fan-out is synchronous, so anything it caused was sent to the
   * member before this probe's echo: the echo is the next thing the member
   * receives, and nothing is queued behind it.
   */
  async function memberSawNothing (t: Test, what: string): Promise<void> {
    const n = ++probes
    member.send({ type: 'probe', n })
    const echo = await member.next()
    t.match(echo, { type: 'probe', n, user: 'user' }, `${what}: the member's next message is its own probe`)
    t.same(member.received, [], `${what}: and nothing else reached the member`)
  }

  async function openWith (flow: Flow, token: string): Promise<TestSocket> {
    sent.push(token)
    switch (flow) {
      case 'query': return await TestSocket.open(`${built.wsUrl}/ws?token=${encodeURIComponent(token)}`)
      case 'header': return await TestSocket.open(`${built.wsUrl}/ws`, { headers: { authorization: `Bearer ${token}` } })
      case 'subprotocol': return await TestSocket.open(`${built.wsUrl}/ws`, { protocols: ['bearer', token] })
      case 'message': {
        const socket = await TestSocket.open(`${built.wsUrl}/ws`)
        socket.send({ type: 'authenticate', token })
        return socket
      }
    }
  }

  async function assertRefused (t: Test, flow: Flow, token: string, reason: string): Promise<void> {
    const what = `${flow}`
    const joinsBefore = joined.length
    const socket = await openWith(flow, token)
    // Were the socket let in, this would reach the member.
    socket.send({ type: 'intrusion', flow })
    if (flow === 'message') t.same(await socket.next(), { type: 'auth_failed', reason }, `${what}: auth_failed names the reason`)
    t.same(await closedWithin(socket), { code: 1008, reason }, `${what}: closed 1008 ${reason}`)
    t.same(socket.received, [], `${what}: the rejected socket received nothing else`)
    t.equal(joined.length, joinsBefore, `${what}: never joined the hub`)
    await waitFor(() => hub.size === 1, 2000, `${what}: hub back to the member only`)
    t.equal(hub.size, 1, `${what}: the hub holds only the member`)
    t.equal(hub.connectionsOf('user'), 1, `${what}: one connection for user`)
    await memberSawNothing(t, what)
  }

  /** The next message, or the close if the socket closes first: an accepted token must not be closed. */
  async function nextOrClose (socket: TestSocket): Promise<Json> {
    return await Promise.race([socket.next(), socket.closed.then((closed) => ({ closedWith: closed }))])
  }

  async function assertAccepted (t: Test, flow: Flow, token: string): Promise<void> {
    const what = `${flow}`
    const socket = await openWith(flow, token)
    if (flow === 'message') t.match(await nextOrClose(socket), { type: 'authenticated', user: 'user' }, `${what}: authenticated`)
    const established = await nextOrClose(socket)
    t.same(established.closedWith, undefined, `${what}: not closed`)
    t.match(established, { type: 'connection_established', user: 'user' }, `${what}: connection_established`)
    if (established.type === 'connection_established') {
      if (flow === 'subprotocol') t.equal(socket.ws.protocol, 'bearer', `${what}: the server selects bearer, never the token`)
      t.equal(hub.size, 2, `${what}: joined next to the member`)
      socket.send({ type: 'get_status' })
      t.match(await nextOrClose(socket), { type: 'status', user: 'user' }, `${what}: the socket works`)
      socket.close()
    }
    await closedWithin(socket)
    await waitFor(() => hub.size === 1, 2000, `${what}: left the hub`)
    await memberSawNothing(t, what)
  }

  const cases: readonly Case[] = [
    { name: 'alg none, empty signature', token: () => forgeToken(claims(), { alg: 'none' }), reason: 'Invalid token' },
    { name: 'alg NONE, empty signature', token: () => forgeToken(claims(), { alg: 'none', header: { alg: 'NONE' } }), reason: 'Invalid token' },
    { name: 'HS512 with the right secret', token: () => forgeToken(claims(), { alg: 'HS512' }), reason: 'Invalid token' },
    { name: 'payload tampered after signing', token: tampered, reason: 'Invalid token' },
    { name: 'signed with another secret', token: () => forgeToken(claims(), { secret: WRONG_SECRET }), reason: 'Invalid token' },
    { name: 'expired 1 h ago', token: () => forgeToken(claims({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })), reason: 'Token expired' },
    { name: `expired ${TOLERANCE_SECONDS / 2} s ago, within the ${TOLERANCE_SECONDS} s tolerance`, token: () => forgeToken(claims({ iat: nowSeconds() - 1800, exp: nowSeconds() - TOLERANCE_SECONDS / 2 })), reason: null },
    { name: 'nbf 1 h in the future', token: () => forgeToken(claims({ nbf: nowSeconds() + 3600 })), reason: 'Invalid token' },
    { name: 'no exp', token: () => forgeToken(without(claims(), 'exp')), reason: 'Invalid token' },
    { name: 'no sub', token: () => forgeToken(without(claims(), 'sub')), reason: 'Invalid token payload' },
    { name: 'numeric sub', token: () => forgeToken(claims({ sub: 42 })), reason: 'Invalid token payload' },
    { name: 'crit header with an unknown extension', token: () => forgeToken(claims(), { header: { crit: ['x-unknown'], 'x-unknown': true } }), reason: 'Invalid token' },
    { name: 'jku header at a local server', token: () => forgeToken(claims(), { header: { jku: `${keyUrl}/jwks.json` } }), reason: null },
    { name: 'x5u header at a local server', token: () => forgeToken(claims(), { header: { x5u: `${keyUrl}/cert.pem` } }), reason: null },
    { name: 'kid header naming a local URL', token: () => forgeToken(claims(), { header: { kid: `${keyUrl}/key` } }), reason: null },
    { name: 'iss as an array', token: () => forgeToken(claims({ iss: ['https://a.example', 'https://b.example'] })), reason: null },
    { name: 'token over 8 KiB', token: oversized, reason: 'Invalid token' }
  ]

  for (const c of cases) {
    t.test(`${c.name}: ${c.reason ?? 'accepted'} on every credential path`, async (t) => {
      for (const flow of FLOWS) {
        if (c.reason === null) await assertAccepted(t, flow, c.token())
        else await assertRefused(t, flow, c.token(), c.reason)
      }
    })
  }

  t.test('jku, x5u and kid were never fetched', async (t) => {
    // A fetch the app started while verifying would have reached the key
    // server before this one, made after every such token was answered.
    const marker = await fetch(`${keyUrl}/marker`)
    await marker.arrayBuffer()
    t.same(fetched, ['GET /marker'], 'the key server received no request but the marker')
    t.equal(keyConnections, 1, 'and no connection but the marker\'s')
  })

  t.test('?token=a&token=b is refused rather than guessed', async (t) => {
    const valid = forgeToken(claims())
    sent.push(valid)
    for (const [what, query] of [
      ['two garbage tokens', 'token=a&token=b'],
      ['a valid token twice', `token=${valid}&token=${valid}`]
    ] as const) {
      const joinsBefore = joined.length
      const socket = await TestSocket.open(`${built.wsUrl}/ws?${query}`)
      socket.send({ type: 'intrusion' })
      t.same(await closedWithin(socket), { code: 1008, reason: 'Invalid token' }, `${what}: closed 1008 Invalid token`)
      t.same(socket.received, [], `${what}: received nothing`)
      t.equal(joined.length, joinsBefore, `${what}: never joined`)
      t.equal(hub.size, 1, `${what}: hub holds only the member`)
      await memberSawNothing(t, what)
    }
  })

  t.test('after the hostile run the app still serves and the member is still in', async (t) => {
    const res = await built.app.inject({ method: 'GET', url: '/health' })
    t.equal(res.statusCode, 200)
    t.equal(hub.size, 1)
    t.equal(joined.length - baseJoins, cases.filter((c) => c.reason === null).length * FLOWS.length, 'only accepted tokens ever joined')
    await memberSawNothing(t, 'final')
  })

  t.test('no token and no signature of one appears in the logs', async (t) => {
    const logs = built.logs()
    t.ok(logs.includes('websocket auth failed'), 'the attempts were logged')
    const unique = [...new Set(sent)]
    t.ok(unique.length > cases.length, `${unique.length} distinct tokens sent`)
    for (const token of unique) {
      t.notOk(logs.includes(token), `token ${token.slice(0, 12)}… not in the logs`)
      const signature = token.split('.')[2] ?? ''
      if (signature.length >= 16) t.notOk(logs.includes(signature), `signature ${signature.slice(0, 8)}… not in the logs`)
    }
  })
}

import t from 'tap'
import { ManualClock } from '../clock.js'
import { build, type Built } from '../helper.js'
import { TestSocket } from '../ws-client.js'

/** `POST /messages` within a socket's limits: WS_MAX_PAYLOAD per body, WS_MESSAGES_PER_SECOND / WS_MESSAGE_BURST per user. */

async function post (built: Built, token: string, body: string): Promise<Response> {
  return await fetch(`${built.url}/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
}

/** A message of exactly `bytes` bytes of JSON. */
function messageOf (bytes: number, type = 'big'): string {
  const empty = JSON.stringify({ type, payload: { text: '' } })
  return JSON.stringify({ type, payload: { text: 'x'.repeat(bytes - empty.length) } })
}

t.test('a body over WS_MAX_PAYLOAD is refused with 413 and reaches no one', async (t) => {
  const built = await build(t, { WS_MAX_PAYLOAD: '1024' })
  const { access_token: token } = await built.login()
  const receiver = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.teardown(() => { receiver.close() })

  const exact = await post(built, token, messageOf(1024, 'fits'))
  t.equal(exact.status, 202, 'a body of exactly the frame limit is accepted')
  const over = await post(built, token, messageOf(1025, 'too-big'))
  t.equal(over.status, 413, 'one byte more is not')
  t.match(await over.json(), { error: 'invalid_request', detail: String })
  const huge = await post(built, token, messageOf(1024 * 1024 - 100, 'huge'))
  t.equal(huge.status, 413, 'nor the 1 MiB that was the limit before')

  const received = await receiver.receivedBeforePong()
  t.same(received.map((m) => m.type), ['fits'], 'the receiver got only the message that fit')
})

t.test('a user over the socket message rate gets 429 with Retry-After, on the injected clock', async (t) => {
  const clock = new ManualClock()
  const built = await build(t, { WS_MESSAGES_PER_SECOND: '2', WS_MESSAGE_BURST: '3' }, { clock })
  const { access_token: token } = await built.login()
  await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash('bob-password') })
  const { access_token: bob } = await built.login('bob', 'bob-password')
  const receiver = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob}`)
  t.teardown(() => { receiver.close() })

  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await post(built, token, JSON.stringify({ type: 'burst', payload: { i } }))).status)
  t.same(statuses, [202, 202, 202], 'the burst is accepted')
  const refused = await post(built, token, JSON.stringify({ type: 'over', payload: {} }))
  t.equal(refused.status, 429)
  t.equal(refused.headers.get('retry-after'), '1')
  const body = await refused.json() as Record<string, unknown>
  t.match(body, { error: 'temporarily_unavailable', detail: /messages per second/ })
  t.equal(body.error_description, body.detail)

  t.equal((await post(built, bob, JSON.stringify({ type: 'other-user' }))).status, 202, 'another user has a bucket of their own')

  clock.advance(499)
  t.equal((await post(built, token, JSON.stringify({ type: 'still-over' }))).status, 429, 'half a token later: still refused')
  clock.advance(1)
  t.equal((await post(built, token, JSON.stringify({ type: 'after-wait' }))).status, 202, 'one token refilled at 2 per second')

  const received = await receiver.receivedBeforePong()
  t.same(received.map((m) => m.type), ['burst', 'burst', 'burst', 'other-user', 'after-wait'], 'refused messages were never fanned out')
})

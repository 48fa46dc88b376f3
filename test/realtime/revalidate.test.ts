import t from 'tap'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

t.test('changes made outside the server reach live sockets on the next sweep', async (t) => {
  const built = await build(t, { WS_REVALIDATE_INTERVAL_MS: '100' })
  await built.app.users.create({ username: 'bob', passwordHash: await built.app.passwords.hash('bob-password') })
  const user = await built.login()
  const bob = await built.login('bob', 'bob-password')
  const userSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${user.access_token}`)
  const bobSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${bob.access_token}`)
  const testSocket = await TestSocket.connect(`${built.wsUrl}/ws?token=${built.app.tokens.testToken ?? ''}`)

  // As the users CLI does it: straight to the database, no broker event.
  await built.app.users.setDisabled('bob', true)
  t.same(await closedWithin(bobSocket, 1500), { code: 1008, reason: 'Session revoked' }, 'disabled user closed')

  const sid = JSON.parse(Buffer.from(user.access_token.split('.')[1] ?? '', 'base64url').toString()).sid as string
  await built.app.sessionStore.revoke(sid, 'test')
  t.same(await closedWithin(userSocket, 1500), { code: 1008, reason: 'Session revoked' }, 'revoked session closed')

  testSocket.send({ type: 'ping' })
  t.match(await testSocket.next(), { type: 'pong' }, 'the test token has no session and is left alone')
  testSocket.close()
})

import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ManualClock } from '../clock.js'
import { build, testEnv, type Built } from '../helper.js'
import { TestSocket, type Json } from '../ws-client.js'

const PIN = 'correct-horse-battery-staple'

async function socketsOf (built: Built, token: string, count: number, ip?: string): Promise<TestSocket[]> {
  const headers: Record<string, string> = ip === undefined ? {} : { 'x-forwarded-for': ip }
  const sockets: TestSocket[] = []
  for (let i = 0; i < count; i++) sockets.push(await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`, { headers }))
  return sockets
}

async function adminAuth (socket: TestSocket, token: string): Promise<Json> {
  socket.send({ type: 'admin_auth', token })
  return await socket.nextOfType('admin_auth_response')
}

const locked = (response: Json): boolean => typeof response.retryAfterSeconds === 'number'

async function auditFailures (built: Built): Promise<number> {
  await built.app.auditLog.flush()
  const page = await built.app.auditQuery.page({ kind: 'admin_auth', outcome: 'failure', limit: 500 })
  return page.items.length
}

t.test('a burst of wrong PINs over many sockets gets five free guesses and one more, then waits that double', async (t) => {
  const clock = new ManualClock()
  const built = await build(t, { ADMIN_TOKEN: PIN }, { clock })
  const { access_token: token } = await built.login()
  const sockets = await socketsOf(built, token, 4)
  // Sent all at once, spread over the user's sockets: none waits for an answer.
  for (let i = 0; i < 24; i++) sockets[i % 4]?.send({ type: 'admin_auth', token: `guess-${i}`, requestId: `g${i}` })
  const answers: Json[] = []
  for (const socket of sockets) for (let i = 0; i < 6; i++) answers.push(await socket.nextOfType('admin_auth_response'))
  t.equal(answers.filter((a) => a.success === true).length, 0)
  t.equal(answers.filter((a) => !locked(a)).length, 6, 'five free failures and the one that starts the wait were checked')
  t.match(answers.filter(locked)[0], { success: false, error: /wait 1 s/, retryAfterSeconds: 1 })

  const refused = await adminAuth(sockets[0] as TestSocket, PIN)
  t.match(refused, { success: false, retryAfterSeconds: 1 }, 'even the right PIN is refused while locked out')
  sockets[0]?.send({ type: 'admin_command', command: 'stats' })
  t.match(await sockets[0]?.next(), { type: 'error', code: 'forbidden' }, 'and the socket is not elevated')

  clock.advance(1000)
  t.match(await adminAuth(sockets[1] as TestSocket, 'guess-again'), { success: false, error: 'Admin authentication failed' }, 'after the wait one more guess is checked')
  t.match(await adminAuth(sockets[1] as TestSocket, PIN), { success: false, retryAfterSeconds: 2 }, 'and the next wait is twice as long')
  clock.advance(1000)
  t.match(await adminAuth(sockets[2] as TestSocket, PIN), { success: false, retryAfterSeconds: 1 })
  clock.advance(1000)
  t.match(await adminAuth(sockets[2] as TestSocket, PIN), { success: true }, 'once the wait is over the right PIN works')

  // A success resets the count: five more failures are all checked again.
  for (let i = 0; i < 5; i++) t.notOk(locked(await adminAuth(sockets[3] as TestSocket, `after-${i}`)), `failure ${i + 1} after the success is checked`)
  t.equal(await auditFailures(built), 24 + 1 + 1 + 2 + 5, 'every failure is audited, refused ones included')
  for (const socket of sockets) socket.close()
})

t.test('the count is per user across addresses and per address across users', async (t) => {
  const clock = new ManualClock()
  const built = await build(t, { ADMIN_TOKEN: PIN, TRUST_PROXY: 'true' }, { clock })
  await built.app.users.create({ username: 'other', passwordHash: await built.app.passwords.hash('other-password') })
  const user = (await built.login()).access_token
  const other = (await built.login('other', 'other-password')).access_token
  const [userAtA] = await socketsOf(built, user, 1, '203.0.113.1')
  for (let i = 0; i < 6; i++) t.notOk(locked(await adminAuth(userAtA as TestSocket, `wrong-${i}`)), `guess ${i + 1} checked`)
  t.ok(locked(await adminAuth(userAtA as TestSocket, PIN)), 'user at A is locked out')

  const [userAtB] = await socketsOf(built, user, 1, '203.0.113.2')
  t.match(await adminAuth(userAtB as TestSocket, PIN), { success: false, retryAfterSeconds: 1 }, 'the same user from another address waits too')
  const [otherAtA] = await socketsOf(built, other, 1, '203.0.113.1')
  t.match(await adminAuth(otherAtA as TestSocket, PIN), { success: false, retryAfterSeconds: 1 }, 'another user from the same address waits too')
  const [otherAtC] = await socketsOf(built, other, 1, '203.0.113.3')
  t.match(await adminAuth(otherAtC as TestSocket, PIN), { success: true }, 'another user from another address is unaffected')
  for (const socket of [userAtA, userAtB, otherAtA, otherAtC]) socket?.close()
})

t.test('the reported attack: a 4-digit PIN guessed over 54 sockets is not found, and kick stays forbidden', async (t) => {
  const clock = new ManualClock()
  const built = await build(t, { ADMIN_TOKEN: '4827' }, { clock })
  t.match(built.logs(), /ADMIN_TOKEN is short enough to guess/, 'outside production a short PIN only warns')
  const attacker = (await built.login()).access_token
  await built.app.users.create({ username: 'victim', passwordHash: await built.app.passwords.hash('victim-password') })
  const victim = await TestSocket.connect(`${built.wsUrl}/ws?token=${(await built.login('victim', 'victim-password')).access_token}`)
  const sockets = await socketsOf(built, attacker, 54)
  // 88 guesses a socket stays inside the default message burst; 2400..7151 holds the PIN.
  const perSocket = 88
  sockets.forEach((socket, s) => {
    for (let i = 0; i < perSocket; i++) socket.send({ type: 'admin_auth', token: String(2400 + s * perSocket + i).padStart(4, '0') })
  })
  let checked = 0
  let succeeded = 0
  for (const socket of sockets) {
    for (let i = 0; i < perSocket; i++) {
      const answer = await socket.nextOfType('admin_auth_response', 10_000)
      if (answer.success === true) succeeded++
      if (!locked(answer)) checked++
    }
  }
  t.equal(succeeded, 0, 'the right PIN was among the 4 752 guesses and was still refused')
  t.equal(checked, 6, 'only six guesses were ever compared')
  sockets[0]?.send({ type: 'admin_command', command: 'kick', user: 'victim' })
  t.match(await sockets[0]?.nextOfType('error'), { code: 'forbidden' }, 'kick is refused')
  t.same(await victim.receivedBeforePong(), [], 'the victim is still connected and was sent nothing')
  t.notOk(built.logs().includes('"4827"'), 'the PIN is never logged')
  for (const socket of [...sockets, victim]) socket.close()
})

t.test('production refuses an ADMIN_TOKEN shorter than 16 characters and says why', async (t) => {
  const production = { ...testEnv('/tmp/unused'), NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }
  const err = t.throws(() => loadConfig({ ...production, ADMIN_TOKEN: 'abcd-1234-efgh' })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.match(err.problems, [/ADMIN_TOKEN must be at least 16 characters when NODE_ENV=production \(got 14\)/])
  t.notOk(err.message.includes('abcd-1234-efgh'), 'the refused PIN is not repeated')
  t.equal(loadConfig({ ...production, ADMIN_TOKEN: 'abcd-1234-efgh-5' }).adminToken, 'abcd-1234-efgh-5', '16 characters are enough')
  t.equal(loadConfig({ ...testEnv('/tmp/unused'), NODE_ENV: 'development', ADMIN_TOKEN: '4827' }).adminToken, '4827', 'development accepts it')
})

t.test('the lockout has configurable defaults', async (t) => {
  const config = loadConfig(testEnv('/tmp/unused'))
  t.equal(config.adminAuthFreeFailures, 5)
  t.equal(config.adminAuthMaxBackoffSeconds, 3600)
  t.throws(() => loadConfig(testEnv('/tmp/unused', { ADMIN_AUTH_FREE_FAILURES: 'many' })), /ADMIN_AUTH_FREE_FAILURES must be a whole number/)
})

import t, { type Test } from 'tap'
import { build, waitFor } from '../helper.js'
import { TestSocket } from '../ws-client.js'
import { IoTestClient, disconnectedWithin } from './io-client.js'
import { RawEngineSocket } from './raw-engine.js'

// Bad input on the Socket.IO endpoint: refused without a crash, and without
// anything reaching, or taking anything from, the sockets next to it.

const MAX_PAYLOAD = 4096
const built = await build(t, { SOCKETIO_ENABLED: 'true', WS_MAX_PAYLOAD: String(MAX_PAYLOAD), WS_AUTH_TIMEOUT_MS: '300' })
const hub = built.app.hub
const { access_token: token } = await built.login()
// Bystanders of both kinds, connected all along.
const wsBystander = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
const ioBystander = await IoTestClient.connect(built.url, { auth: { token } })
t.teardown(() => { wsBystander.close(); ioBystander.close() })

let probes = 0
/** Both bystanders' next message is a fresh probe: nothing else reached them, and fan-out still works. */
async function bystandersUnharmed (t: Test, what: string): Promise<void> {
  await waitFor(() => hub.size === 2, 3000, `${what}: the hub back to the bystanders`)
  const n = ++probes
  wsBystander.send({ type: 'probe', n })
  t.match(await wsBystander.next(), { type: 'probe', n }, `${what}: the /ws bystander gets the probe next`)
  t.same(await ioBystander.until((item) => item.event === 'message' && item.payload.n === n), [], `${what}: the Socket.IO bystander too, nothing before it`)
}

async function connected (): Promise<RawEngineSocket> {
  const { socket, answer } = await RawEngineSocket.connect(built.wsUrl, { token })
  if (!answer.startsWith('40{"sid"')) throw new Error(`not connected: ${answer}`)
  const welcome = await socket.next()
  if (!welcome.startsWith('42["connection_established"')) throw new Error(`no welcome: ${welcome}`)
  return socket
}

t.test('malformed packets close that session only', async (t) => {
  const packets: Array<[string, string]> = [
    ['broken JSON', '42["chat",{"text":'],
    ['an event that is not an array', '42{"type":"chat"}'],
    ['a reserved event name', '42["disconnect"]'],
    ['an unknown Socket.IO packet type', '49["chat",{}]'],
    ['an unknown Engine.IO packet type', 'x42["chat",{}]'],
    ['a second CONNECT', '40{"token":"x"}']
  ]
  for (const [what, packet] of packets) {
    const raw = await connected()
    raw.send(packet)
    await raw.closedWithin()
    t.pass(`${what}: closed`)
    await bystandersUnharmed(t, what)
  }
})

t.test('well-formed packets of the wrong shape get an error event; the socket stays', async (t) => {
  const raw = await connected()
  const cases: Array<[string, string]> = [
    ['a numeric event name', '42[7,{"text":"x"}]'],
    ['a string payload', '42["chat","just text"]'],
    ['two payloads', '42["chat",{},{}]'],
    ['a message event without type', '42["message",{"text":"x"}]'],
    ['a message event that is not JSON', '42["message","{nope"]'],
    ['a reserved type', '42["subscribed",{"channel":"x"}]']
  ]
  for (const [what, packet] of cases) {
    raw.send(packet)
    t.match(await raw.next(), /^42\["error",\{"type":"error","code":"(invalid_message|invalid_json|unsupported_type)"/, `${what}: an error event`)
  }
  raw.send('42["ping"]')
  t.match(await raw.next(), /^42\["pong",/, 'still answering')
  raw.close()
  await bystandersUnharmed(t, 'wrong shapes')
})

t.test('events before CONNECT, or no CONNECT at all', async (t) => {
  const early = await RawEngineSocket.open(built.wsUrl)
  early.send('42["chat",{"text":"before connect"}]')
  await early.closedWithin()
  t.pass('an event before CONNECT closes the session')
  const silent = await RawEngineSocket.open(built.wsUrl)
  await silent.closedWithin(3000)
  t.pass('a session that never sends CONNECT is closed after WS_AUTH_TIMEOUT_MS')
  await bystandersUnharmed(t, 'before connect')
})

t.test('two CONNECTs in a row: the second, sent while the first is checked, closes the session', async (t) => {
  const raw = await RawEngineSocket.open(built.wsUrl)
  raw.send(`40${JSON.stringify({ token })}`)
  raw.send(`40${JSON.stringify({ token })}`)
  await raw.closedWithin()
  t.pass('closed')
  await bystandersUnharmed(t, 'two connects')
  t.equal(hub.connectionsOf('user'), 2, 'no second member was left behind')
})

t.test('a token given twice in the query is refused rather than guessed', async (t) => {
  const { socket, answer } = await RawEngineSocket.connect(built.wsUrl, {}, `token=${token}&token=${token}`)
  t.equal(answer, '44{"message":"Invalid token","data":{"code":"invalid_token","closeCode":1008}}')
  socket.close()
})

t.test('binary: an attachment or a binary frame ends the socket as on /ws', async (t) => {
  const client = await IoTestClient.connect(built.url, { auth: { token } })
  client.emit('chat', { blob: Buffer.from([1, 2, 3]) })
  t.same(await client.nextOf('disconnect_reason'), { type: 'disconnect_reason', reason: 'Binary messages not supported', code: 'binary_not_supported', closeCode: 1003 })
  t.equal(await disconnectedWithin(client), 'io server disconnect')
  await bystandersUnharmed(t, 'attachment')
  const raw = await connected()
  raw.send(Buffer.from([4, 1, 2, 3]))
  await raw.closedWithin()
  t.pass('a raw binary frame closes the session')
  await bystandersUnharmed(t, 'binary frame')
})

t.test(`a payload over WS_MAX_PAYLOAD (${MAX_PAYLOAD} bytes) is refused on either transport`, async (t) => {
  for (const transport of ['websocket', 'polling']) {
    const client = await IoTestClient.connect(built.url, { auth: { token }, transports: [transport] })
    client.emit('chat', { text: 'x'.repeat(MAX_PAYLOAD) })
    t.match(await disconnectedWithin(client), /^transport (close|error)$/, `${transport}: the transport is closed`)
    await bystandersUnharmed(t, `${transport} oversized`)
  }
})

t.test('an unknown namespace is refused by Socket.IO', async (t) => {
  const refusal = await IoTestClient.refused(`${built.url}/elsewhere`, { auth: { token } })
  t.equal(refusal.message, 'Invalid namespace')
  await bystandersUnharmed(t, 'namespace')
})

t.test('the process logged no crash', async (t) => {
  t.notMatch(built.logs(), /"level":(50|60)/, 'no error or fatal line')
})

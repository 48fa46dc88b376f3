import t from 'tap'
import { build } from '../helper.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { TestSocket } from '../ws-client.js'
import { IoTestClient } from './io-client.js'

// SOCKETIO_ENABLED and SOCKETIO_PATH: off by default and then absent; on, at its path only.

t.test('off by default: no Engine.IO listener, the path is a plain 404', async (t) => {
  t.equal(loadConfig({}).socketIoEnabled, false)
  t.equal(loadConfig({}).socketIoPath, '/socket.io')
  const built = await build(t)
  t.equal(built.app.server.listeners('request').length, 1, 'only Fastify answers requests')
  t.equal(built.app.server.listeners('upgrade').length, 1, 'only @fastify/websocket takes upgrades')
  const res = await fetch(`${built.url}/socket.io/?EIO=4&transport=polling`)
  t.equal(res.status, 404)
  t.match(await res.json(), { error: 'not_found' })
})

t.test('SOCKETIO_PATH moves the endpoint; /ws keeps working next to it', async (t) => {
  const built = await build(t, { SOCKETIO_ENABLED: 'true', SOCKETIO_PATH: '/realtime/sio' })
  const { access_token: token } = await built.login()
  const client = await IoTestClient.connect(built.url, { auth: { token }, path: '/realtime/sio' })
  t.teardown(() => { client.close() })
  const refused = await IoTestClient.refused(built.url, { auth: { token }, transports: ['polling'] })
  t.match(refused.message, /xhr poll error/, 'nothing at the default path')
  const ws = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  client.emit('chat', { text: 'hi' })
  t.match(await ws.next(), { type: 'chat', text: 'hi' }, '/ws upgrades still reach @fastify/websocket')
  ws.close()
  const http = await fetch(`${built.url}/health`)
  t.equal(http.status, 200, 'and HTTP routes Fastify')
})

t.test('bad settings stop the start with the fix named', async (t) => {
  for (const path of ['socket.io', '/', '/a b', '/x?y', '/trailing/']) {
    t.throws(() => loadConfig({ SOCKETIO_PATH: path }), ConfigError, `SOCKETIO_PATH=${path}`)
  }
  try {
    loadConfig({ SOCKETIO_ENABLED: 'maybe' })
    t.fail('SOCKETIO_ENABLED=maybe was accepted')
  } catch (err) {
    t.same((err as ConfigError).problems, ['SOCKETIO_ENABLED must be true or false (got "maybe")'])
  }
})

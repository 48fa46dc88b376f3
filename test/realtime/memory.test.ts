import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import WebSocket from 'ws'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { tempDir, testEnv } from '../helper.js'
import { TestSocket } from '../ws-client.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('an open socket does not keep its HTTP request alive', async (t) => {
  const app = await buildApp(loadConfig(testEnv(tempDir(t), { LOG_LEVEL: 'warn' })))
  t.teardown(async () => { await app.close() })
  const requests: Array<WeakRef<object>> = []
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/ws')) requests.push(new WeakRef(request))
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  const login = await app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'password' } })
  const token = login.json<{ access_token: string }>().access_token
  const sockets: TestSocket[] = []
  for (let i = 0; i < 5; i++) sockets.push(await TestSocket.connect(`ws://127.0.0.1:${address.port}/ws?token=${token}`))
  t.equal(requests.length, 5)
  for (let i = 0; i < 5 && requests.some((r) => r.deref() !== undefined); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    gc()
  }
  t.equal(requests.filter((r) => r.deref() !== undefined).length, 0, 'every upgrade request was collected')
  t.ok(sockets.every((s) => s.ws.readyState === WebSocket.OPEN), 'while the sockets stay open')
  sockets[0]?.send({ type: 'still-works' })
  t.match(await sockets[0]?.next(), { type: 'still-works' })
  for (const s of sockets) s.close()
})

import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import t from 'tap'
import { dropClearedTimeout } from '../../src/realtime/socket-timeout.js'
import { build } from '../helper.js'
import { TestSocket } from '../ws-client.js'

/** The slot Node keeps a socket's idle timer in (see src/realtime/socket-timeout.ts). */
function timerSlot (socket: Socket): unknown {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'timeout')
  if (key === undefined) throw new Error('this Node keeps no timeout slot on sockets')
  return (socket as unknown as Record<symbol, unknown>)[key]
}

t.test('dropClearedTimeout lets go of a timer turned off, and leaves a running one', async (t) => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const socket = createConnection(address.port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  await once(socket, 'connect')
  socket.setTimeout(60_000)
  dropClearedTimeout(socket)
  t.not(timerSlot(socket), null, 'a running timer is kept')
  socket.setTimeout(0)
  t.not(timerSlot(socket), null, 'Node keeps the cleared timer')
  dropClearedTimeout(socket)
  t.equal(timerSlot(socket), null, 'and it is let go')
})

t.test('an upgraded /ws socket keeps no HTTP idle timer', async (t) => {
  const built = await build(t)
  const upgraded: Socket[] = []
  // Listens beside the app's own upgrade router, only to see the socket.
  built.app.server.on('upgrade', (_request, socket: Socket) => { upgraded.push(socket) })
  const { access_token: token } = await built.login()
  const client = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  t.teardown(() => { client.close() })
  const [socket] = upgraded
  if (socket === undefined) throw new Error('no upgrade seen')
  t.equal(socket.timeout, 0, 'ws turned the timer off')
  t.equal(timerSlot(socket), null, 'and the socket no longer holds it')
})

import { once } from 'node:events'
import { mock } from 'node:test'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { ExpiryTimer } from '../../src/realtime/expiry.js'
import { startHeartbeat } from '../../src/realtime/heartbeat.js'

/**
 * The socket timers the server owns, driven by Node's mock timers: time moves
 * only when a test ticks it, so each edge is exact on any machine. The
 * integration tests (ws.test.ts, session.test.ts) cover the same timers over
 * real sockets by waiting for their effects.
 */

t.test('ExpiryTimer fires once at exp plus the tolerance, not a millisecond before', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 })
  t.teardown(() => { mock.timers.reset() })
  let fired = 0
  const timer = new ExpiryTimer(5, () => { fired++ })
  const now = Date.now() / 1000
  timer.schedule(now + 10)
  mock.timers.tick(14_999)
  t.equal(fired, 0, 'still open within the tolerance')
  mock.timers.tick(1)
  t.equal(fired, 1, 'closed at exp + tolerance')
  mock.timers.tick(60_000)
  t.equal(fired, 1, 'once')

  timer.schedule(Date.now() / 1000 + 10)
  mock.timers.tick(10_000)
  timer.schedule(Date.now() / 1000 + 100)
  mock.timers.tick(10_000)
  t.equal(fired, 1, 'a new schedule (an in-band refresh) replaces the old one')
  mock.timers.tick(95_000)
  t.equal(fired, 2, 'and fires at its own time')

  timer.schedule(null)
  mock.timers.tick(365 * 86_400_000)
  t.equal(fired, 2, 'the test token (no exp) never expires')

  timer.schedule(Date.now() / 1000 - 60)
  t.equal(fired, 3, 'an exp already past fires at once')
  timer.clear()
})

t.test('ExpiryTimer reaches an expiry beyond setTimeout\'s 24.8-day ceiling in steps', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 })
  t.teardown(() => { mock.timers.reset() })
  let fired = 0
  const timer = new ExpiryTimer(0, () => { fired++ })
  timer.schedule(Date.now() / 1000 + 40 * 86_400)
  mock.timers.tick(2 ** 31 - 1)
  t.equal(fired, 0, 'not at the first step')
  mock.timers.tick(40 * 86_400_000 - (2 ** 31 - 1) - 1)
  t.equal(fired, 0, 'not a millisecond early')
  mock.timers.tick(1)
  t.equal(fired, 1)
})

t.test('the heartbeat drops a peer that missed a pong and keeps one that answers', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(wss, 'listening')
  t.teardown(async () => { await new Promise((resolve) => { wss.close(resolve) }) })
  // Only setInterval is mocked: sockets and their I/O run for real.
  mock.timers.enable({ apis: ['setInterval'] })
  t.teardown(() => { mock.timers.reset() })
  const heartbeat = startHeartbeat(wss, 30_000)
  t.teardown(() => { heartbeat.stop() })
  const port = (wss.address() as { port: number }).port
  const pongs: number[] = [0, 0]
  const accepted: WebSocket[] = []
  wss.on('connection', (socket) => {
    const index = accepted.push(socket) - 1
    socket.on('pong', () => { pongs[index] = (pongs[index] ?? 0) + 1 })
  })
  const answering = new WebSocket(`ws://127.0.0.1:${port}`)
  await once(wss, 'connection')
  const silent = new WebSocket(`ws://127.0.0.1:${port}`, { autoPong: false })
  await once(wss, 'connection')
  const silentClosed = once(silent, 'close')
  const pinged = (ws: WebSocket): Promise<unknown[]> => once(ws, 'ping')

  for (let round = 1; round <= 3; round++) {
    const pings = [pinged(answering)] as Array<Promise<unknown[]>>
    if (round === 1) pings.push(pinged(silent))
    mock.timers.tick(30_000)
    await Promise.all(pings)
    // Wait for the answer before the next tick: that is what the server checks.
    while ((pongs[0] ?? 0) < round) await once(accepted[0] as WebSocket, 'pong')
  }
  const [code] = await silentClosed as [number]
  t.equal(code, 1006, 'the silent peer was terminated without a close frame, at the second tick')
  t.equal(answering.readyState, WebSocket.OPEN, 'the answering peer is still open after three rounds')
  t.equal(pongs[0], 3, 'it answered every ping')
  answering.close()
  await once(answering, 'close')
})

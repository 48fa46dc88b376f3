import { once } from 'node:events'
import { mock } from 'node:test'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { ExpirySchedule } from '../../src/realtime/expiry.js'
import { startHeartbeat } from '../../src/realtime/heartbeat.js'

/**
 * The socket timers the server owns, driven by Node's mock timers: time moves
 * only when a test ticks it, so each edge is exact on any machine. The
 * integration tests (ws.test.ts, session.test.ts) cover the same timers over
 * real sockets by waiting for their effects.
 */

t.test('ExpirySchedule closes each socket once at exp plus the tolerance, not a millisecond before', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 })
  t.teardown(() => { mock.timers.reset() })
  const fired: string[] = []
  const schedule = new ExpirySchedule<string>(5, (item) => { fired.push(item) })
  t.teardown(() => { schedule.close() })
  const now = Date.now() / 1000
  schedule.move('a', undefined, now + 10)
  schedule.move('b', undefined, now + 10)
  schedule.move('c', undefined, now + 20)
  t.equal(schedule.size, 3)
  mock.timers.tick(14_999)
  t.same(fired, [], 'still open within the tolerance')
  mock.timers.tick(1)
  t.same(fired, ['a', 'b'], 'both sockets due then close at exp + tolerance')
  mock.timers.tick(9_999)
  t.same(fired, ['a', 'b'])
  mock.timers.tick(1)
  t.same(fired, ['a', 'b', 'c'], 'a later group at its own time')
  mock.timers.tick(60_000)
  t.equal(fired.length, 3, 'once each')
  t.equal(schedule.size, 0)

  const later = Date.now() / 1000
  schedule.move('d', undefined, later + 10)
  mock.timers.tick(10_000)
  schedule.move('d', later + 10, later + 100)
  mock.timers.tick(10_000)
  t.equal(fired.length, 3, 'a move (an in-band refresh) replaces the earlier expiry')
  mock.timers.tick(95_000)
  t.same(fired.slice(3), ['d'], 'and fires at its own time')

  schedule.move('e', undefined, Date.now() / 1000 + 10)
  schedule.move('e', Date.now() / 1000 + 10, undefined)
  mock.timers.tick(60_000)
  t.equal(fired.length, 4, 'a closed socket leaves the schedule')

  schedule.move('f', undefined, null)
  mock.timers.tick(365 * 86_400_000)
  t.equal(fired.length, 4, 'the test token (no exp) never expires')
  t.equal(schedule.size, 0, 'and is not held')

  schedule.move('g', undefined, Date.now() / 1000 - 60)
  t.same(fired.slice(4), ['g'], 'an exp already past fires at once')
})

t.test('ExpirySchedule re-arms for an earlier group and reaches one beyond setTimeout\'s 24.8-day ceiling in steps', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 })
  t.teardown(() => { mock.timers.reset() })
  const fired: string[] = []
  const schedule = new ExpirySchedule<string>(0, (item) => { fired.push(item) })
  t.teardown(() => { schedule.close() })
  const now = Date.now() / 1000
  schedule.move('far', undefined, now + 40 * 86_400)
  schedule.move('near', undefined, now + 60)
  mock.timers.tick(60_000)
  t.same(fired, ['near'], 'an earlier expiry added later still fires first')
  mock.timers.tick(2 ** 31 - 1)
  t.same(fired, ['near'], 'not at the first step')
  mock.timers.tick(40 * 86_400_000 - 60_000 - (2 ** 31 - 1) - 1)
  t.same(fired, ['near'], 'not a millisecond early')
  mock.timers.tick(1)
  t.same(fired, ['near', 'far'])
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

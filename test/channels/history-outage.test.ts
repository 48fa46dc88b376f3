import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import t from 'tap'
import { RedisBroker } from '../../src/broker/redis.js'
import { createRedis, closeRedis, whenReady } from '../../src/broker/redis-connection.js'
import { RedisChannelLog } from '../../src/channels/history-redis.js'
import type { HistoryOptions } from '../../src/channels/history.js'
import { captureLog, freePort, until } from '../broker/fixtures.js'
import { REDIS_TEST_URL, redisPrefix } from '../services.js'
import type { Test } from 'tap'

const HISTORY: HistoryOptions = { size: 100, ttlSeconds: 300 }
const message = (text: string): string => JSON.stringify({ type: 'message', text })

/**
 * A TCP relay to the shared Redis that a test can cut and restore: the link
 * fails while Redis keeps its data, which a restarted redis-server would not.
 */
class Relay {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  private constructor (readonly port: number, private readonly target: URL) {}

  static async start (t: Test): Promise<Relay> {
    const relay = new Relay(await freePort(), new URL(REDIS_TEST_URL))
    t.teardown(async () => { await relay.cut() })
    await relay.restore()
    return relay
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async restore (): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 6379), this.target.hostname)
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => { this.sockets.delete(socket); client.destroy(); upstream.destroy() })
        socket.on('error', () => undefined)
      }
      client.pipe(upstream).pipe(client)
    })
    this.server = server
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
  }

  /** Stops accepting and drops every open connection. */
  async cut (): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server !== undefined) await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
}

t.test('an outage: local offsets meanwhile, then the channels published to start a new epoch; the others keep theirs', async (t) => {
  const relay = await Relay.start(t)
  const prefix = redisPrefix()
  const log = captureLog()
  const redis = createRedis({ url: relay.url, name: 'wsgate-test-history', log: captureLog(), reconnect: { initialMs: 20, maxMs: 100 } })
  t.teardown(async () => { await closeRedis(redis) })
  await whenReady(redis, relay.url, 5000)
  // The broker reaches Redis directly: only the log's connection goes through the relay.
  const broker = await RedisBroker.connect({ url: REDIS_TEST_URL, prefix, instanceId: 'a', log: captureLog() })
  const channelLog = new RedisChannelLog({ redis, prefix, instanceId: 'a', broker, log })
  t.teardown(async () => { await channelLog.close(); await broker.close() })
  const delivered: string[] = []
  broker.subscribe((event) => { if (event.kind === 'broadcast') delivered.push(event.frame) })

  await channelLog.publish('busy', message('1'), HISTORY)
  const before = await channelLog.publish('busy', message('2'), HISTORY)
  const quiet = await channelLog.publish('quiet', message('q'), HISTORY)
  await until('delivered through Redis', () => delivered.length === 3)

  await relay.cut()
  await until('the log\'s connection is down', () => redis.status !== 'ready')
  const during = await channelLog.publish('busy', message('during'), HISTORY)
  t.equal(delivered.length, 4, 'delivered locally during the outage, before publish resolved')
  t.same(JSON.parse(delivered[3] ?? ''), { type: 'message', text: 'during', channel: 'busy', offset: during.offset }, 'with a local offset')
  t.not(during.epoch, before.epoch, 'in a local epoch')
  await channelLog.publish('busy', message('during 2'), HISTORY)
  t.same(await channelLog.position('busy'), { offset: during.offset + 1, epoch: during.epoch }, 'position reports the local count')
  t.equal(log.lines.filter((line) => line.msg.includes('Redis unavailable')).length, 1, 'the outage is logged once')

  await relay.restore()
  await until('the log\'s connection is back', () => redis.status === 'ready')
  const after = await channelLog.publish('busy', message('after'), HISTORY)
  t.not(after.epoch, before.epoch, 'the channel published to during the outage starts a new epoch in Redis')
  t.not(after.epoch, during.epoch, 'not the local one either')
  t.equal(after.offset, 1, 'at offset 1')
  t.notOk((await channelLog.recover('busy', before)).recovered, 'a client from before the outage is told it lost messages')
  t.notOk((await channelLog.recover('busy', during)).recovered, 'so is one that subscribed during it')
  t.same(await channelLog.position('quiet'), quiet, 'a channel nobody published to meanwhile keeps its epoch and history')
  t.ok((await channelLog.recover('quiet', { offset: 0, epoch: quiet.epoch })).recovered, 'and can still be recovered')
  t.equal(log.lines.filter((line) => line.msg.includes('available again')).length, 1, 'the end of the outage is logged once')
  await until('the message after the outage arrives through Redis', () => delivered.length === 6)
})

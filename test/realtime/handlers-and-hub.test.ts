import t from 'tap'
import { Close, type CloseSpec, type ReservedTypeName } from '../../src/protocol/index.js'
import { Elevation } from '../../src/realtime/elevation.js'
import { ADMIN_CHANNEL } from '../../src/realtime/endpoint.js'
import type { EncodedFrame } from '../../src/realtime/frame.js'
import { MessageHandlers, type SocketView } from '../../src/realtime/handlers.js'
import { Hub, type HubClient } from '../../src/realtime/hub.js'
import { Membership } from '../../src/realtime/membership.js'
import { ManualClock } from '../clock.js'

/**
 * The parts a socket is made of, without a socket: the handler table feature
 * plugins register into, the elevation on the injected clock, and the hub as
 * the one record of channel membership. ws.test.ts and admin-ws.test.ts cover
 * them over real sockets.
 */

class FakeClient implements HubClient {
  readonly frames: string[] = []
  readonly closes: CloseSpec[] = []
  constructor (readonly connectionId: string, readonly username: string, public sid: string | undefined) {}
  sendFrame (frame: EncodedFrame): void { this.frames.push(frame.text) }
  closeWith (spec: CloseSpec): void { this.closes.push(spec) }
}

t.test('the handler table: reserved types only, one handler each, anything else to the fallback', async (t) => {
  const seen: string[] = []
  const handlers = new MessageHandlers((_conn, message) => { seen.push(`fallback ${message.type}`) })
  handlers.register('ping', (_conn, message) => { seen.push(`ping ${message.type}`) })
  t.throws(() => { handlers.register('ping', () => {}) }, /already registered/)
  t.throws(() => { handlers.register('chat' as ReservedTypeName, () => {}) }, /not a reserved type/)
  const conn = {} as unknown as SocketView
  handlers.dispatch(conn, { type: 'ping' })
  handlers.dispatch(conn, { type: 'chat' })
  handlers.dispatch(conn, { type: 'admin_auth' })
  t.same(seen, ['ping ping', 'fallback chat', 'fallback admin_auth'], 'an unregistered reserved type reaches the fallback, which refuses it')
})

t.test('elevation: none, for a while on the clock, for life, ended; on whose behalf', async (t) => {
  const clock = new ManualClock()
  const elevation = new Elevation(clock)
  t.equal(elevation.active, false)
  t.equal(elevation.grant(1000, 'root'), clock.now() + 1000)
  t.equal(elevation.grantedBy, 'root')
  clock.advance(999)
  t.equal(elevation.active, true)
  t.equal(elevation.extend(1000), clock.now() + 1000)
  t.equal(elevation.grantedBy, 'root', 'renewing keeps who granted it')
  clock.advance(1000)
  t.equal(elevation.active, false, 'ends when its time is up')
  elevation.grant(1000, undefined)
  t.equal(elevation.grantedBy, undefined, 'the PIN grants it on no one\'s behalf')
  elevation.grantForLife('root')
  clock.advance(10 ** 9)
  t.equal(elevation.active, true)
  t.equal(elevation.forLife, true)
  t.equal(elevation.extend(1000), null, 'extending a life-long elevation keeps it life-long')
  elevation.end()
  t.equal(elevation.active, false)
  t.equal(elevation.grantedBy, undefined)
})

t.test('clients join with the global channel alone; one that subscribes or leaves it changes no other', async (t) => {
  const hub = new Hub()
  const [a, b, c] = [new FakeClient('a', 'ann', 's1'), new FakeClient('b', 'bob', 's2'), new FakeClient('c', 'cid', 's3')]
  for (const client of [a, b, c]) hub.join(client)
  hub.subscribe(a, 'news')
  hub.unsubscribe(b, 'global')
  t.same([...hub.channelsOf(a)], ['global', 'news'])
  t.same([...hub.channelsOf(b)], [])
  t.same([...hub.channelsOf(c)], ['global'], 'the untouched client is in global alone')
  t.equal(hub.deliver('global', '{"n":1}'), 2)
  t.same([a, b, c].map((client) => client.frames.length), [1, 0, 1])
  const d = new FakeClient('d', 'dee', 's4')
  hub.join(d)
  t.same([...hub.channelsOf(d)], ['global'], 'and a later one joins the same way')
})

t.test('the hub owns channel membership: joins, caps, leaves and session moves', async (t) => {
  const hub = new Hub()
  const alice = new FakeClient('a', 'alice', 's1')
  const channels = new Membership(hub, alice, 2)
  t.same(channels.list(), [], 'a client not in the hub is in no channel')
  hub.join(alice)
  t.same(channels.list(), ['global'])
  hub.subscribe(alice, ADMIN_CHANNEL)
  t.equal(channels.join('news'), true)
  t.equal(channels.join('sport'), false, 'global and news make two; the admin channel does not count')
  t.equal(hub.deliver('news', '{"n":1}'), 1)
  channels.leave('news')
  t.equal(hub.deliver('news', '{"n":2}'), 0)
  t.equal(hub.hasChannel('news'), false, 'an empty channel leaves the index')
  t.same(alice.frames, ['{"n":1}'])

  alice.sid = 's2'
  hub.moveSession(alice, 's1')
  t.equal(hub.closeSession('s1', Close.sessionRevoked), 0)
  t.equal(hub.closeSession('s2', Close.sessionRevoked), 1)
  hub.leave(alice)
  t.same(channels.list(), [])
  t.equal(hub.hasChannel('global'), false)
  t.equal(hub.hasChannel(ADMIN_CHANNEL), false)
})

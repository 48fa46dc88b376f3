import t from 'tap'
import { MemoryPresence } from '../../src/channels/presence-memory.js'

const byConnection = (a: { connectionId: string }, b: { connectionId: string }): number => a.connectionId.localeCompare(b.connectionId)

t.test('add, list and remove per channel; two sockets of a user are two entries', async (t) => {
  const presence = new MemoryPresence()
  await presence.add('chat:room', { user: 'alice', connectionId: 'c1' })
  await presence.add('chat:room', { user: 'alice', connectionId: 'c2' })
  await presence.add('chat:room', { user: 'bob', connectionId: 'c3' })
  await presence.add('chat:other', { user: 'carol', connectionId: 'c4' })
  t.same((await presence.list('chat:room')).sort(byConnection), [
    { user: 'alice', connectionId: 'c1' },
    { user: 'alice', connectionId: 'c2' },
    { user: 'bob', connectionId: 'c3' }
  ])
  t.same(await presence.list('chat:other'), [{ user: 'carol', connectionId: 'c4' }], 'channels are independent')
  await presence.remove('chat:room', 'c1')
  await presence.remove('chat:room', 'nobody')
  await presence.remove('nowhere', 'c2')
  t.same((await presence.list('chat:room')).sort(byConnection), [{ user: 'alice', connectionId: 'c2' }, { user: 'bob', connectionId: 'c3' }], 'only c1 left; unknown ids are harmless')
  t.same(await presence.list('nowhere'), [], 'an unknown channel is empty')
})

t.test('adding a connection id again replaces its entry', async (t) => {
  const presence = new MemoryPresence()
  await presence.add('c', { user: 'alice', connectionId: 'c1' })
  await presence.add('c', { user: 'alice', connectionId: 'c1' })
  t.same(await presence.list('c'), [{ user: 'alice', connectionId: 'c1' }], 'added twice, listed once')
  await presence.add('c', { user: 'bob', connectionId: 'c1' })
  t.same(await presence.list('c'), [{ user: 'bob', connectionId: 'c1' }], 'replaced')
})

t.test('a channel with no entries holds no state', async (t) => {
  const presence = new MemoryPresence()
  await presence.add('a', { user: 'alice', connectionId: 'c1' })
  await presence.add('b', { user: 'bob', connectionId: 'c2' })
  t.equal(presence.channelCount, 2)
  await presence.remove('a', 'c1')
  t.equal(presence.channelCount, 1, 'the emptied channel is forgotten')
  await presence.close()
  t.equal(presence.channelCount, 0, 'close forgets everything')
  t.same(await presence.list('b'), [])
})

t.test('a listed entry is a copy', async (t) => {
  const presence = new MemoryPresence()
  const entry = { user: 'alice', connectionId: 'c1' }
  await presence.add('c', entry)
  entry.user = 'mallory'
  const listed = await presence.list('c')
  t.same(listed, [{ user: 'alice', connectionId: 'c1' }], 'changing the added object changes nothing')
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { encodeEnvelope, parseEnvelope } from '../../src/broker/envelope.js'
import { ChannelsFileError, loadChannelsFile, validateChannels } from '../../src/channels/channels-file.js'
import { ChannelPolicy, type Caller, type PublishVia } from '../../src/channels/policy.js'
import { tempDir } from '../helper.js'

// The pure policy: who may subscribe and publish where, and how CHANNELS_FILE
// is checked. test/channels/permissions.test.ts drives the same rules through
// real sockets and routes.

const alice: Caller = { username: 'alice', roles: [] }
const bob: Caller = { username: 'bob', roles: [] }
const root: Caller = { username: 'root', roles: ['admin'] }
const staff: Caller = { username: 'sam', roles: ['staff'] }

const FILE = {
  namespaces: {
    default: { subscribe: 'anyone', publish: 'subscribers' },
    chat: { presence: true, joinLeave: true },
    news: { subscribe: 'role:staff', publish: 'server', history: { size: 20, ttlSeconds: 3600 } },
    shout: { publish: 'anyone' },
    ops: { subscribe: 'anyone', publish: 'role:staff' },
    sealed: { subscribe: 'server', publish: 'server' }
  }
}

function policyOf (value: unknown): ChannelPolicy {
  const checked = validateChannels(value)
  if (Array.isArray(checked)) throw new Error(checked.join('; '))
  return new ChannelPolicy(checked)
}

const policy = policyOf(FILE)
const allowed = (refusal: string | undefined): boolean => refusal === undefined

/** publishRefusal as a yes/no, for the tables below. */
function mayPublish (p: ChannelPolicy, who: Caller, channel: string, via: PublishVia, subscribed = false): boolean {
  return allowed(p.publishRefusal(who, channel, via, subscribed))
}

t.test('subscribe: built-in namespaces are fixed, the file decides the rest', async (t) => {
  const table: Array<[string, Caller, boolean]> = [
    ['global', alice, true],
    ['global', root, true],
    ['user:alice', alice, true],
    ['user:alice', bob, false],
    ['user:alice', root, false],
    ['admin:ops', alice, false],
    ['admin:ops', root, true],
    ['room-1', alice, true],
    ['chat:lobby', alice, true],
    ['news:today', alice, false],
    ['news:today', root, false],
    ['news:today', staff, true],
    ['sealed:x', root, false],
    ['nowhere:x', root, false]
  ]
  for (const [channel, who, expected] of table) {
    t.equal(allowed(policy.subscribeRefusal(who, channel)), expected, `${who.username} ${expected ? 'may' : 'may not'} subscribe to ${channel}`)
  }
  t.equal(policy.subscribeRefusal(bob, 'user:alice'), 'Only alice may subscribe to "user:alice"')
  t.equal(policy.subscribeRefusal(alice, 'news:today'), 'Channels of namespace "news" need role staff to subscribe')
  t.equal(policy.subscribeRefusal(root, 'sealed:x'), 'Nobody subscribes to channels of namespace "sealed": the server publishes there')
  t.equal(policy.subscribeRefusal(alice, 'nowhere:x'), 'No namespace "nowhere" is configured')
})

t.test('names no namespace covers are refused, admins included', async (t) => {
  for (const channel of [':x', 'x:', 'global:x', 'default:x', 'nowhere:x']) {
    t.not(policy.subscribeRefusal(root, channel), undefined, `subscribe ${channel}`)
    t.not(policy.publishRefusal(root, channel, 'server', false), undefined, `server publish ${channel}`)
    t.not(policy.broadcastRefusal(channel), undefined, `broadcast ${channel}`)
    t.equal(policy.options(channel).subscribe, 'server', `${channel} has closed options`)
  }
  t.match(policy.subscribeRefusal(alice, 'global:x'), /one channel, "global"/)
  t.match(policy.subscribeRefusal(alice, ':x'), /not a channel name/)
})

t.test('publish: owner, other user, admin, server, for every built-in and a file namespace', async (t) => {
  const table: Array<[string, Caller, PublishVia, boolean, boolean]> = [
    // channel, who, via, subscribed, allowed
    ['global', alice, 'socket', true, true],
    ['global', alice, 'socket', false, false],
    ['global', alice, 'server', false, true],
    ['user:alice', alice, 'socket', false, true],
    ['user:alice', alice, 'server', false, true],
    ['user:alice', bob, 'socket', false, false],
    ['user:alice', bob, 'server', false, false],
    ['user:alice', root, 'socket', false, true],
    ['user:alice', root, 'server', false, true],
    ['admin:ops', alice, 'socket', true, false],
    ['admin:ops', alice, 'server', false, false],
    ['admin:ops', root, 'socket', false, true],
    ['admin:ops', root, 'server', false, true],
    ['room', alice, 'socket', true, true],
    ['room', alice, 'socket', false, false],
    ['room', alice, 'server', false, true],
    ['news:today', staff, 'socket', true, false],
    ['news:today', staff, 'server', false, false],
    ['news:today', alice, 'server', false, false],
    ['news:today', root, 'server', false, true],
    ['news:today', root, 'socket', true, false],
    ['shout:x', alice, 'socket', false, true],
    ['ops:x', alice, 'socket', true, false],
    ['ops:x', staff, 'socket', false, true],
    ['ops:x', staff, 'server', false, true]
  ]
  for (const [channel, who, via, subscribed, expected] of table) {
    t.equal(mayPublish(policy, who, channel, via, subscribed), expected,
      `${who.username} via ${via}${subscribed ? ' (subscribed)' : ''} ${expected ? 'may' : 'may not'} publish to ${channel}`)
  }
  t.equal(policy.publishRefusal(alice, 'room', 'socket', false), 'Not subscribed to channel "room"')
  t.equal(policy.publishRefusal(staff, 'news:today', 'server', false), 'Only the server publishes to channels of namespace "news" (POST /messages by an admin)')
  t.equal(policy.publishRefusal(bob, 'user:alice', 'socket', false), 'Only alice and admins may publish to "user:alice"')
})

t.test('a subscribers namespace is closed to a server publisher who may not subscribe', async (t) => {
  const members = policyOf({ namespaces: { vip: { subscribe: 'role:vip' } } })
  t.equal(mayPublish(members, alice, 'vip:x', 'server'), false, 'no POST /messages around the subscribe rule')
  t.equal(mayPublish(members, { username: 'v', roles: ['vip'] }, 'vip:x', 'server'), true)
  t.equal(mayPublish(members, root, 'vip:x', 'server'), true, 'an admin publishes as the server')
})

t.test('the default namespace is open without a file and follows the file when it is there', async (t) => {
  const open = new ChannelPolicy()
  t.equal(allowed(open.subscribeRefusal(alice, 'room')), true)
  t.equal(mayPublish(open, alice, 'room', 'server'), true)
  t.equal(allowed(open.subscribeRefusal(alice, 'chat:x')), false, 'no namespace but the built-ins without a file')
  t.same(open.configured(), [])
  const closed = policyOf({ namespaces: { default: { subscribe: 'role:member', publish: 'server' } } })
  t.equal(allowed(closed.subscribeRefusal(alice, 'room')), false)
  t.equal(allowed(closed.subscribeRefusal(alice, 'global')), true, 'global stays open whatever default says')
  t.equal(mayPublish(closed, alice, 'global', 'socket', true), true)
  t.equal(mayPublish(closed, alice, 'room', 'server'), false)
})

t.test('options and presence', async (t) => {
  t.same(policy.options('news:today'), { name: 'news', subscribe: 'role:staff', publish: 'server', presence: false, joinLeave: false, history: { size: 20, ttlSeconds: 3600 } })
  t.same(policy.options('chat:lobby'), { name: 'chat', subscribe: 'anyone', publish: 'subscribers', presence: true, joinLeave: true, history: { size: 100, ttlSeconds: 300 } }, 'left-out keys take the defaults')
  t.equal(policy.options('room').name, 'default')
  t.equal(policy.options('global').name, 'global')
  t.equal(policy.presenceRefusal(alice, 'chat:lobby'), undefined)
  t.equal(policy.presenceRefusal(alice, 'room'), 'Presence is off for namespace "default"')
  t.equal(policy.presenceRefusal(alice, 'user:alice'), undefined, 'the owner asks who is on their personal channel')
  t.equal(policy.presenceRefusal(bob, 'user:alice'), 'Only alice may subscribe to "user:alice"', 'others may not')
  t.not(policy.presenceRefusal(alice, 'news:today'), undefined, 'presence needs the right to subscribe')
})

t.test('CHANNELS_FILE validation names the namespace and the key', async (t) => {
  const problems = (value: unknown): string[] => {
    const checked = validateChannels(value)
    return Array.isArray(checked) ? checked : []
  }
  t.same(problems(null), ['the file must be a mapping with a "namespaces" key (got an empty file)'])
  t.same(problems([1]), ['the file must be a mapping with a "namespaces" key (got [1])'])
  t.same(problems({}), ['namespaces must be a mapping of namespace names to options (got nothing)'])
  t.same(problems({ namespaces: {}, extra: 1 }), ['the file: unknown key "extra" (expected namespaces)'])
  t.same(problems({ namespaces: { user: {} } }), ['namespaces.user: "user" is built in and cannot be configured (reserved: global, user, admin)'])
  t.same(problems({ namespaces: { 'a:b': {} } }), ['namespaces: "a:b" is not a namespace name (1-64 of A-Z a-z 0-9 _ . @ -)'])
  t.same(problems({ namespaces: { chat: 'open' } }), ['namespaces.chat must be a mapping of options (got "open")'])
  t.same(problems({ namespaces: { chat: { subscribe: 'everyone' } } }),
    ['namespaces.chat.subscribe must be anyone, server or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got "everyone")'])
  t.same(problems({ namespaces: { chat: { publish: 'subscribers', subscribe: 'role:' } } }),
    ['namespaces.chat.subscribe must be anyone, server or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got "role:")'])
  t.same(problems({ namespaces: { chat: { publish: 'nobody' } } }),
    ['namespaces.chat.publish must be subscribers, anyone, server or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got "nobody")'])
  t.same(problems({ namespaces: { chat: { presence: 'yes', joinleave: true } } }),
    ['namespaces.chat: unknown key "joinleave" (expected subscribe, publish, presence, joinLeave, history)', 'namespaces.chat.presence must be true or false (got "yes")'])
  t.same(problems({ namespaces: { chat: { history: { size: -1, ttlSeconds: 1.5, keep: 1 } } } }), [
    'namespaces.chat.history: unknown key "keep" (expected size, ttlSeconds)',
    'namespaces.chat.history.size must be a whole number from 0 to 10000 (got -1)',
    'namespaces.chat.history.ttlSeconds must be a whole number from 1 to 604800 (got 1.5)'
  ])
  t.same(problems({ namespaces: { chat: { history: 5 } } }), ['namespaces.chat.history must be a mapping with size and ttlSeconds (got 5)'])
  t.same(problems({ namespaces: { chat: null, quiet: { history: { size: 0 } } } }), [], 'an empty namespace and history off are fine')
})

t.test('files: YAML, JSON, the example, and one-line errors', async (t) => {
  const dir = tempDir(t)
  const example = loadChannelsFile('deploy/channels.example.yaml')
  t.same([...example.keys()], ['default', 'chat', 'news'], 'deploy/channels.example.yaml loads')
  t.equal(example.get('news')?.subscribe, 'role:staff')

  const json = join(dir, 'channels.json')
  writeFileSync(json, JSON.stringify(FILE))
  t.same([...loadChannelsFile(json).keys()], Object.keys(FILE.namespaces), 'JSON by extension')

  const badJson = join(dir, 'bad.json')
  writeFileSync(badJson, '{"namespaces": ')
  t.throws(() => loadChannelsFile(badJson), { name: 'ChannelsFileError', message: new RegExp(`^Invalid CHANNELS_FILE ${badJson}: not valid JSON: `) })

  const badYaml = join(dir, 'bad.yaml')
  writeFileSync(badYaml, 'namespaces:\n  chat: { subscribe: anyone\n')
  const yamlError = catchError(() => loadChannelsFile(badYaml))
  t.match(yamlError.message, new RegExp(`^Invalid CHANNELS_FILE ${badYaml}: not valid YAML: `))
  t.notMatch(yamlError.message, /\n/, 'one line')

  const duplicate = join(dir, 'dup.yaml')
  writeFileSync(duplicate, 'namespaces:\n  chat: {}\n  chat: {}\n')
  t.match(catchError(() => loadChannelsFile(duplicate)).message, /not valid YAML: .*unique/i, 'a namespace given twice is an error, not a silent override')

  const wrong = join(dir, 'wrong.yml')
  writeFileSync(wrong, 'namespaces:\n  admin: {}\n  chat:\n    subscribe: everyone\n')
  const error = catchError(() => loadChannelsFile(wrong))
  t.ok(error instanceof ChannelsFileError)
  t.equal(error.message, `Invalid CHANNELS_FILE ${wrong}: namespaces.admin: "admin" is built in and cannot be configured (reserved: global, user, admin); namespaces.chat.subscribe must be anyone, server or role:<role> (a role is 1-64 of A-Z a-z 0-9 _ . : -) (got "everyone")`, 'every problem, on one line')

  t.throws(() => loadChannelsFile(join(dir, 'missing.yaml')), { message: `Invalid CHANNELS_FILE ${join(dir, 'missing.yaml')}: cannot be read (ENOENT)` })
})

t.test('the user-roles broker event crosses Redis in its envelope', async (t) => {
  const event = { kind: 'user-roles', username: 'alice', roles: ['staff'] } as const
  t.same(parseEnvelope(encodeEnvelope({ origin: 'a', at: 1, event })), { origin: 'a', at: 1, event })
  t.equal(parseEnvelope(JSON.stringify({ origin: 'a', at: 1, event: { kind: 'user-roles', username: 'alice', roles: [1] } })), 'user-roles needs a string username and an array of string roles')
  t.equal(parseEnvelope(JSON.stringify({ origin: 'a', at: 1, event: { kind: 'user-roles', username: 'alice' } })), 'user-roles needs a string username and an array of string roles')
})

function catchError (fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

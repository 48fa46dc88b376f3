import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { Test } from 'tap'
import { channelOf, checkMessage, parseClientMessage, stamp, type ClientMessage, type ParseResult } from '../../src/realtime/messages.js'

/**
 * The message parser is the first code that touches every frame a client
 * sends: whatever arrives, it answers ok or an error, and never throws.
 */

const RUNS = { numRuns: 500 }
const CHANNEL = /^[A-Za-z0-9_.:@-]{1,128}$/
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ERROR_CODES = ['invalid_json', 'invalid_message']

class Violation extends Error {}

function check (condition: boolean, what: string): void {
  if (!condition) throw new Violation(what)
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** What the contract says: a non-array object whose `type` is a string of 1 to 100 characters. */
function acceptable (value: unknown): boolean {
  if (!isPlainObject(value)) return false
  const type: unknown = value.type
  return typeof type === 'string' && type.length >= 1 && type.length <= 100
}

/** The invariants of any parse result, whatever the input. */
function checkResult (result: ParseResult): void {
  if (result.ok) {
    check(isPlainObject(result.message), 'an ok message is a non-array object')
    check(typeof result.message.type === 'string', 'an ok message has a string type')
    check(result.message.type.length >= 1 && result.message.type.length <= 100, 'an ok type has 1 to 100 characters')
  } else {
    check(ERROR_CODES.includes(result.error.code), `error code ${result.error.code} is a parse error code`)
    check(typeof result.error.message === 'string' && result.error.message !== '', 'an error has a message')
  }
}

/** Own value of a key, without going through `__proto__`'s accessor. */
function own (value: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(value, key)?.value
}

// Keys that have bitten JavaScript servers before, and the three the server owns.
const trickyKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'type', 'channel', 'user', 'timestamp', 'requestId', '')
const key = fc.oneof(trickyKey, fc.string({ unit: 'binary', maxLength: 12 }))
const typeValue = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.string({ minLength: 95, maxLength: 105 }),
  fc.constantFrom('', 'test', 'chat', 'authenticate', 'ping', 'x'.repeat(100), 'x'.repeat(101)),
  fc.jsonValue({ maxDepth: 2 })
)

/** JSON object texts written field by field, so that `__proto__` arrives as an own key, as JSON.parse makes it. */
const objectText = fc.tuple(
  fc.option(typeValue, { nil: undefined }),
  fc.array(fc.tuple(key, fc.jsonValue({ maxDepth: 3 })), { maxLength: 8 })
).map(([type, entries]) => {
  const fields: Array<[string, unknown]> = type === undefined ? entries : [['type', type], ...entries]
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`
})

/** JSON objects the parser accepts, with arbitrary and tricky extra fields. */
const acceptedMessage = objectText
  .map((text) => `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"type":"t"}`)

export function messageProperties (t: Test): void {
  t.test('parseClientMessage never throws on arbitrary strings', (t) => {
    t.doesNotThrow(() => {
      fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 300 })), (text) => {
        const result = parseClientMessage(text)
        checkResult(result)
        let json: unknown
        let valid = true
        try { json = JSON.parse(text) } catch { valid = false }
        check(result.ok === (valid && acceptable(json)), 'ok exactly when the text is an acceptable JSON message')
        if (!valid) check(!result.ok && result.error.code === 'invalid_json', 'not JSON → invalid_json')
      }), RUNS)
    })
    t.end()
  })

  t.test('parseClientMessage never throws on JSON texts, and accepts exactly the contract', (t) => {
    const texts = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.anything({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'undefined'),
      objectText
    )
    t.doesNotThrow(() => {
      fc.assert(fc.property(texts, (text) => {
        const result = parseClientMessage(text)
        checkResult(result)
        let json: unknown
        let valid = true
        try { json = JSON.parse(text) } catch { valid = false }
        check(result.ok === (valid && acceptable(json)), 'ok exactly when the JSON is an object with a 1–100 character string type')
        if (valid && !result.ok) check(result.error.code === 'invalid_message', 'valid JSON that is refused → invalid_message')
        if (result.ok) check(isDeepStrictEqual(result.message, json), 'an accepted message carries every field it was sent with')
      }), RUNS)
    })
    t.end()
  })

  t.test('checkMessage never throws on any value', (t) => {
    const values = fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true
    })
    const withType = fc.tuple(values, fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true })).map(([rest, type]) => {
      const base: Record<string, unknown> = isPlainObject(rest) ? { ...rest } : {}
      base.type = type
      return base
    })
    t.doesNotThrow(() => {
      fc.assert(fc.property(fc.oneof(values, withType), (value) => {
        const result = checkMessage(value)
        checkResult(result)
        check(result.ok === acceptable(value), 'ok exactly when the value is an object with a 1–100 character string type')
        if (result.ok) check(result.message === value, 'an accepted message is the value itself, not a copy that lost fields')
      }), RUNS)
    })
    t.end()
  })

  t.test('stamp sets user, timestamp and requestId whatever the input had, and the result survives JSON', (t) => {
    const user = fc.oneof(fc.constant('user'), fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }))
    const seen = new Set<string>()
    t.doesNotThrow(() => {
      fc.assert(fc.property(acceptedMessage, user, (text, username) => {
        const parsed = parseClientMessage(text)
        check(parsed.ok, `the generator makes accepted messages: ${text}`)
        if (!parsed.ok) return
        const original = JSON.parse(text) as Record<string, unknown>
        const before = Date.now()
        const stamped = stamp(parsed.message, username)
        const after = Date.now()

        check(Object.hasOwn(stamped, 'user') && stamped.user === username, 'user is the given user, as an own field')
        check(Object.hasOwn(stamped, 'timestamp') && typeof stamped.timestamp === 'number' && Number.isFinite(stamped.timestamp), 'timestamp is a finite number')
        const ms = Math.round(stamped.timestamp * 1000)
        check(ms >= before && ms <= after, `timestamp ${stamped.timestamp} is now, in seconds`)
        check(Object.hasOwn(stamped, 'requestId') && typeof stamped.requestId === 'string' && UUID_V4.test(stamped.requestId), `requestId ${String(stamped.requestId)} is a UUID v4`)
        check(!seen.has(stamped.requestId), 'requestIds do not repeat')
        seen.add(stamped.requestId)
        check(Object.getPrototypeOf(stamped) === Object.prototype, 'the prototype is untouched')
        for (const name of ['user', 'timestamp', 'requestId', 'type']) {
          check(!Object.hasOwn(Object.prototype, name), `Object.prototype was not polluted with ${name}`)
        }
        // channel and offset are the channel log's to append: stamp drops whatever the client sent under them.
        check(!Object.hasOwn(stamped, 'channel') && !Object.hasOwn(stamped, 'offset'), 'no client-sent channel or offset is kept')
        for (const k of Object.keys(original)) {
          if (k === 'user' || k === 'timestamp' || k === 'requestId' || k === 'channel' || k === 'offset') continue
          check(isDeepStrictEqual(own(stamped, k), own(original, k)), `field ${JSON.stringify(k)} is kept`)
        }
        check(Object.keys(stamped).length === new Set([...Object.keys(original).filter((k) => k !== 'channel' && k !== 'offset'), 'user', 'timestamp', 'requestId']).size, 'no other field appears')

        const wire = JSON.stringify(stamped)
        const back: unknown = JSON.parse(wire)
        check(isDeepStrictEqual(back, stamped), 'JSON.parse(JSON.stringify(stamped)) is the stamped message')
        check(JSON.stringify(back) === wire, 'and serializes to the same text')
      }), RUNS)
    })
    t.end()
  })

  t.test('channelOf returns undefined or a legal channel name', (t) => {
    const channel = fc.oneof(
      fc.stringMatching(CHANNEL),
      fc.string({ unit: 'binary', maxLength: 140 }),
      fc.constantFrom('global', 'a\n', '\na', 'a'.repeat(128), 'a'.repeat(129), '', ' a', 'room 1', 'ä', '$admin', '__proto__', 'a/b'),
      fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true, withBoxedValues: true })
    )
    const message = fc.tuple(fc.option(channel, { nil: undefined }), fc.boolean()).map(([value, present]): ClientMessage =>
      present ? { type: 'chat', channel: value } : { type: 'chat' })
    t.doesNotThrow(() => {
      fc.assert(fc.property(message, (m) => {
        const result = channelOf(m)
        check(result === undefined || (typeof result === 'string' && CHANNEL.test(result)), `channelOf gave ${String(result)}`)
        const { channel: sent } = m
        if (sent === undefined) check(result === 'global', 'no channel → global')
        else if (typeof sent === 'string' && CHANNEL.test(sent)) check(result === sent, 'a legal channel is kept as sent')
        else check(result === undefined, 'anything else is unusable')
      }), RUNS)
    })
    t.doesNotThrow(() => {
      fc.assert(fc.property(objectText, (text) => {
        const parsed = parseClientMessage(text)
        if (!parsed.ok) return
        const result = channelOf(parsed.message)
        check(result === undefined || CHANNEL.test(result), `channelOf gave ${String(result)}`)
      }), RUNS)
    }, 'on parsed messages too')
    t.end()
  })
}

import type { IncomingHttpHeaders } from 'node:http'
import fc from 'fast-check'
import type { Test } from 'tap'
import { bearerToken, findCredentials, subprotocolToken } from '../../src/auth/credentials.js'
import { build } from '../helper.js'

/**
 * The credential extractor reads attacker-controlled query strings and
 * headers before anything else: it never throws, and whatever it finds comes
 * from the request. End to end, no string but a valid token authenticates.
 */

const RUNS = { numRuns: 500 }

class Violation extends Error {}

function check (condition: boolean, what: string): void {
  if (!condition) throw new Violation(what)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function protocolParts (header: string): string[] {
  return header.split(',').map((p) => p.trim())
}

const anyString = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }))
const jwtLike = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{0,20}\.[A-Za-z0-9_-]{0,20}$/)
const tokenish = fc.oneof(anyString, jwtLike, fc.constantFrom('', ' ', '\t', 'a', 'a b', 'bearer', 'Bearer', ','))

const queryKey = fc.oneof(fc.constantFrom('token', 'access_token', 'Token', 'TOKEN', '__proto__', 'constructor'), fc.string({ maxLength: 12 }))
const queryValue = fc.oneof(
  tokenish,
  fc.array(tokenish, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), tokenish, { maxKeys: 3 }),
  fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true })
)
const queryObject = fc.dictionary(queryKey, queryValue, { maxKeys: 6 })
// Fastify hands over a null-prototype object from its query parser; a plain object and a few non-objects too.
const query = fc.oneof(
  queryObject,
  queryObject.map((q) => Object.assign(Object.create(null) as Record<string, unknown>, q)),
  fc.constantFrom(undefined, null, '', 'token=a', 42)
)

const authorization = fc.oneof(
  anyString,
  fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER\t', 'Bearer  ', 'Bearer', 'Basic ', 'Bearer \t '), tokenish, fc.constantFrom('', ' ', '\t', ' x', '\n'))
    .map(([scheme, token, tail]) => `${scheme}${token}${tail}`)
)
const protocolHeader = fc.oneof(
  anyString,
  fc.tuple(fc.array(fc.oneof(fc.constantFrom('bearer', ' bearer ', 'Bearer', 'graphql-ws', ''), tokenish), { maxLength: 5 }), fc.constantFrom(',', ', ', ' ,'))
    .map(([parts, separator]) => parts.join(separator))
)
const headers = fc.record({
  authorization: fc.option(authorization, { nil: undefined }),
  'sec-websocket-protocol': fc.option(protocolHeader, { nil: undefined })
}, { requiredKeys: [] }).map((h): IncomingHttpHeaders => h)

export function credentialProperties (t: Test): void {
  t.test('findCredentials never throws, and a found token is a non-empty string from the request', (t) => {
    let found = 0
    t.doesNotThrow(() => {
      fc.assert(fc.property(query, headers, (q, h) => {
        const result = findCredentials(q, h)
        check(['found', 'none', 'ambiguous'].includes(result.kind), `kind ${result.kind}`)
        if (result.kind !== 'found') return
        found++
        check(typeof result.token === 'string' && result.token !== '', 'a found token is a non-empty string')
        switch (result.source) {
          case 'query':
            check(isRecord(q) && (q.token === result.token || q.access_token === result.token), 'a query token is the value of token or access_token')
            break
          case 'header':
            check(h.authorization !== undefined && h.authorization.includes(result.token), 'a header token comes from Authorization')
            check(bearerToken(h.authorization) === result.token, 'and is what bearerToken reads')
            break
          case 'subprotocol':
            check(h['sec-websocket-protocol'] !== undefined && protocolParts(h['sec-websocket-protocol']).includes(result.token), 'a subprotocol token is one of the offered protocols')
            break
        }
      }), RUNS)
    })
    t.ok(found > 0, `the generators reach found tokens (${found} of ${RUNS.numRuns})`)
    t.end()
  })

  t.test('findCredentials: first found wins, and a token given twice is ambiguous', (t) => {
    t.doesNotThrow(() => {
      fc.assert(fc.property(queryObject, headers, (q, h) => {
        const result = findCredentials(q, h)
        const token = q.token
        if (Array.isArray(token)) {
          check(result.kind === 'ambiguous', '?token=a&token=b is ambiguous')
        } else if (typeof token === 'string' && token !== '') {
          check(result.kind === 'found' && result.source === 'query' && result.token === token, '?token= wins over everything else')
        }
        if (result.kind === 'found' && result.source !== 'query') {
          check(!(typeof q.token === 'string' && q.token !== '') && !(typeof q.access_token === 'string' && q.access_token !== ''), 'a header is read only when the query names no token')
        }
        if (result.kind === 'found' && result.source === 'subprotocol') {
          check(bearerToken(h.authorization) === undefined, 'the subprotocol is read only without a Bearer header')
        }
      }), RUNS)
    })
    t.end()
  })

  t.test('bearerToken and subprotocolToken never throw and only return what they were given', (t) => {
    t.doesNotThrow(() => {
      fc.assert(fc.property(fc.option(authorization, { nil: undefined }), (header) => {
        const token = bearerToken(header)
        if (token === undefined) return
        check(header !== undefined && header.includes(token), 'the token is part of the header')
        check(token !== '' && !/\s/.test(token), 'a bearer token is non-empty, without whitespace')
        check(/^bearer[ \t]/i.test(header ?? ''), 'only the Bearer scheme yields a token')
      }), RUNS)
    }, 'bearerToken')
    t.doesNotThrow(() => {
      fc.assert(fc.property(fc.option(protocolHeader, { nil: undefined }), (header) => {
        const token = subprotocolToken(header)
        if (token === undefined) return
        check(header !== undefined, 'a token needs a header')
        const parts = protocolParts(header ?? '')
        const at = parts.indexOf('bearer')
        check(at !== -1 && parts[at + 1] === token, 'the token is the protocol right after the first bearer')
        check(token !== '', 'a subprotocol token is non-empty')
      }), RUNS)
    }, 'subprotocolToken')
    t.end()
  })

  t.test('end to end: no string authenticates unless it is exactly a valid token', async (t) => {
    const built = await build(t)
    const { access_token: real } = await built.login()
    const testToken = built.app.tokens.testToken
    if (testToken === undefined) {
      t.fail('test tokens are enabled in the test environment')
      return
    }
    const authenticator = built.app.authenticator
    t.ok((await authenticator.authenticate(real)).ok, 'the real token authenticates')
    t.ok((await authenticator.authenticate(testToken)).ok, 'the test token authenticates')

    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const replacement = fc.oneof(
      fc.constantFrom(...B64URL.split('')),
      fc.constantFrom('.', '=', '+', '/', ' ', '\u0000'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
    )
    const flip = (base: string): fc.Arbitrary<string> => fc.tuple(fc.nat({ max: base.length - 1 }), replacement)
      .map(([at, c]) => `${base.slice(0, at)}${c}${base.slice(at + 1)}`)
    // The last signature character carries bits that base64 decoders may drop: a lenient verifier accepts its neighbours.
    const flipLast = (base: string): fc.Arbitrary<string> => fc.constantFrom(...B64URL.split(''))
      .map((c) => `${base.slice(0, -1)}${c}`)
    const candidates = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.base64String({ maxLength: 400 }),
      flip(real),
      flip(testToken),
      flipLast(real),
      flipLast(testToken),
      fc.constantFrom(real, testToken, `${real} `, ` ${real}`, `${real}.`, real.toUpperCase(), `${testToken}=`)
    )

    // Deterministically, the neighbours of the real token's last character: one string, one token.
    const neighbours: string[] = []
    for (const c of B64URL) {
      const candidate = `${real.slice(0, -1)}${c}`
      if (candidate !== real && (await authenticator.authenticate(candidate)).ok) neighbours.push(c)
    }
    t.same(neighbours, [], `no other last signature character is accepted (the real token ends in ${real.slice(-1)})`)

    let accepted = 0
    let completed = false
    await t.resolves(fc.assert(fc.asyncProperty(candidates, async (token) => {
      const outcome = await authenticator.authenticate(token)
      const valid = token === real || token === testToken
      check(outcome.ok === valid, `authenticate(${JSON.stringify(token)}) gave ok=${String(outcome.ok)}`)
      if (outcome.ok) {
        accepted++
        check(outcome.principal.username === 'user', 'a valid token authenticates its own user')
      }
    }), { numRuns: 200 }).then(() => { completed = true }), 'authenticate never throws and accepts exactly the valid tokens')
    // Only meaningful for a full run: a failing run stops at its counterexample.
    if (completed) t.ok(accepted > 0, `valid tokens were among the candidates (${accepted})`)
  })
}

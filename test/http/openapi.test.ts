import t from 'tap'
import { build, type Built } from '../helper.js'
import { loginAdmin } from '../admin/admin.js'

/**
 * The OpenAPI document at /docs/json, checked the way Swagger UI and code
 * generators read it: the structure OpenAPI 3.0 requires (no OpenAPI
 * validator package is installed, so the rules are spelled out here), every
 * $ref resolving, the password flow declared, and the routes that demand a
 * token found by calling them, not by reading their schemas.
 */

type Json = Record<string, unknown>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Follows a local `#/a/b` reference (JSON Pointer, RFC 6901) in the document; undefined when it leads nowhere. */
function resolve (doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  let node: unknown = doc
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~')
    if (!isObject(node) && !Array.isArray(node)) return undefined
    node = (node as Json)[key]
  }
  return node
}

/** Every `$ref` anywhere in the document. */
function refsIn (node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found)
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value)
      else refsIn(value, found)
    }
  }
  return found
}

interface Operation { readonly method: string, readonly path: string, readonly op: Json }

function operations (doc: Json): Operation[] {
  const paths = isObject(doc.paths) ? doc.paths : {}
  return Object.entries(paths).flatMap(([path, item]) => METHODS
    .filter((method) => isObject(item) && isObject(item[method]))
    .map((method) => ({ method, path, op: (item as Json)[method] as Json })))
}

/** A smallest value the schema accepts, enough to get a request past validation to the auth check. */
function sample (doc: Json, schema: unknown): unknown {
  if (!isObject(schema)) return undefined
  if (typeof schema.$ref === 'string') return sample(doc, resolve(doc, schema.$ref))
  if (Array.isArray(schema.enum)) return schema.enum[0]
  switch (schema.type) {
    case 'object': {
      const properties = isObject(schema.properties) ? schema.properties : {}
      const required = Array.isArray(schema.required) ? schema.required as string[] : []
      return Object.fromEntries(required.map((name) => [name, sample(doc, properties[name])]))
    }
    case 'string': return 'x'.repeat(typeof schema.minLength === 'number' ? Math.max(1, schema.minLength) : 1)
    case 'integer': case 'number': return typeof schema.minimum === 'number' ? schema.minimum : 0
    case 'boolean': return false
    case 'array': return []
    default: return undefined
  }
}

/** Calls the operation with no credentials: whether it asks for a bearer token (401 with a Bearer challenge). */
async function demandsToken (built: Built, doc: Json, { method, path, op }: Operation): Promise<boolean> {
  const url = path.replace(/\{[^}]+\}/g, 'nobody')
  const content = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : undefined
  const jsonBody = isObject(content?.['application/json']) ? content['application/json'] : undefined
  const payload = jsonBody === undefined ? undefined : sample(doc, jsonBody.schema) as Json
  const res = await built.app.inject({ method: method.toUpperCase() as 'GET', url, ...(payload === undefined ? {} : { payload }) })
  return res.statusCode === 401 && String(res.headers['www-authenticate']).startsWith('Bearer')
}

async function fetchDoc (built: Built): Promise<Json> {
  const res = await fetch(`${built.url}/docs/json`)
  if (res.status !== 200) throw new Error(`/docs/json answered ${res.status}`)
  return await res.json() as Json
}

t.test('the document has the structure OpenAPI 3.0 requires', async (t) => {
  const doc = await fetchDoc(await build(t))
  t.match(doc.openapi, /^3\.0\.\d+$/)
  const info = doc.info as Json
  t.type(info.title, 'string')
  t.type(info.version, 'string')
  t.ok(isObject(doc.paths), 'paths')
  const ops = operations(doc)
  t.ok(ops.length >= 10, `every route is in it (${ops.length} operations)`)
  for (const { method, path, op } of ops) {
    const name = `${method.toUpperCase()} ${path}`
    t.ok(isObject(op.responses) && Object.keys(op.responses).length > 0, `${name}: responses`)
    for (const [status, response] of Object.entries(isObject(op.responses) ? op.responses : {})) {
      t.match(status, /^([1-5](\d\d|XX)|default)$/, `${name}: response key ${status}`)
      t.type((response as Json).description, 'string', `${name} ${status}: a response needs a description`)
    }
    // Each {name} in the path is a required path parameter, and every path parameter is in the path.
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    const declared = (Array.isArray(op.parameters) ? op.parameters as Json[] : []).filter((p) => p.in === 'path')
    t.same(declared.map((p) => p.name).sort(), [...inPath].sort(), `${name}: path parameters`)
    for (const p of declared) t.equal(p.required, true, `${name}: path parameter ${String(p.name)} is required`)
  }
  const ids = ops.map(({ op }) => op.operationId).filter((id) => id !== undefined)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
})

t.test('every $ref resolves within the document', async (t) => {
  const doc = await fetchDoc(await build(t))
  const refs = refsIn(doc)
  t.same(refs.filter((ref) => !isObject(resolve(doc, ref))), [], `none of the ${refs.length} $refs leads nowhere`)
})

/** The Schema Object's keywords in OpenAPI 3.0 (3.1's JSON Schema 2020-12 has more; 3.0 tools reject those). */
const SCHEMA_KEYWORDS = new Set(['title', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'required', 'enum', 'type', 'allOf', 'oneOf', 'anyOf', 'not', 'items', 'properties', 'additionalProperties',
  'description', 'format', 'default', 'nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs',
  'example', 'deprecated', '$ref'])
const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object'])

/** Problems with one schema and the schemas inside it, each named by where it is. */
function schemaProblems (schema: unknown, at: string, found: string[] = []): string[] {
  if (!isObject(schema)) {
    found.push(`${at}: not an object`)
    return found
  }
  for (const key of Object.keys(schema)) {
    if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) found.push(`${at}: "${key}" is not an OpenAPI 3.0 schema keyword`)
  }
  if (schema.type !== undefined && !(typeof schema.type === 'string' && SCHEMA_TYPES.has(schema.type))) found.push(`${at}: type ${JSON.stringify(schema.type)}`)
  for (const key of ['exclusiveMinimum', 'exclusiveMaximum', 'nullable', 'readOnly', 'writeOnly', 'uniqueItems']) {
    if (schema[key] !== undefined && typeof schema[key] !== 'boolean') found.push(`${at}: ${key} must be a boolean in 3.0`)
  }
  if (schema.type === 'array' && schema.items === undefined) found.push(`${at}: an array needs items`)
  if (isObject(schema.properties)) for (const [name, inner] of Object.entries(schema.properties)) schemaProblems(inner, `${at}.${name}`, found)
  if (schema.items !== undefined) schemaProblems(schema.items, `${at}[]`, found)
  if (isObject(schema.additionalProperties)) schemaProblems(schema.additionalProperties, `${at}{}`, found)
  if (isObject(schema.not)) schemaProblems(schema.not, `${at}!`, found)
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(schema[key])) (schema[key] as unknown[]).forEach((inner, i) => schemaProblems(inner, `${at}.${key}[${i}]`, found))
  }
  return found
}

t.test('every schema uses only what OpenAPI 3.0 allows', async (t) => {
  const doc = await fetchDoc(await build(t))
  const problems: string[] = []
  let schemas = 0
  const check = (schema: unknown, at: string): void => {
    schemas++
    schemaProblems(schema, at, problems)
  }
  const components = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {}
  for (const [name, schema] of Object.entries(components)) check(schema, `#/components/schemas/${name}`)
  for (const { method, path, op } of operations(doc)) {
    const name = `${method.toUpperCase()} ${path}`
    for (const p of Array.isArray(op.parameters) ? op.parameters as Json[] : []) check(p.schema, `${name} ${String(p.in)} ${String(p.name)}`)
    const bodies = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : {}
    for (const [type, media] of Object.entries(bodies)) check((media as Json).schema, `${name} body ${type}`)
    for (const [status, response] of Object.entries(isObject(op.responses) ? op.responses : {})) {
      const content = isObject((response as Json).content) ? (response as Json).content as Json : {}
      for (const [type, media] of Object.entries(content)) check((media as Json).schema, `${name} ${status} ${type}`)
    }
  }
  t.ok(schemas > 20, `${schemas} schemas checked`)
  t.same(problems, [])
})

t.test('the password flow and the bearer scheme are declared', async (t) => {
  const doc = await fetchDoc(await build(t))
  const schemes = (doc.components as Json).securitySchemes as Json
  t.match(schemes.oauth2Password, { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } })
  t.same(Object.keys((schemes.oauth2Password as { flows: Json }).flows), ['password'], 'the password flow only')
  t.match(schemes.bearerAuth, { type: 'http', scheme: 'bearer' })
  // Every requirement names a declared scheme; an OAuth2 one asks only for scopes its flows define (none).
  for (const { method, path, op } of operations(doc)) {
    for (const requirement of Array.isArray(op.security) ? op.security as Json[] : []) {
      for (const [scheme, scopes] of Object.entries(requirement)) {
        t.ok(isObject(schemes[scheme]), `${method} ${path}: ${scheme} is declared`)
        t.same(scopes, [], `${method} ${path}: no scopes`)
      }
    }
  }
})

t.test('exactly the routes that demand a token list security, both ways to present it', async (t) => {
  const built = await build(t)
  const doc = await fetchDoc(built)
  const demanding: string[] = []
  const listing: string[] = []
  for (const operation of operations(doc)) {
    const name = `${operation.method.toUpperCase()} ${operation.path}`
    if (await demandsToken(built, doc, operation)) demanding.push(name)
    const security = operation.op.security
    if (Array.isArray(security) && security.length > 0) {
      listing.push(name)
      t.same(security, [{ oauth2Password: [] }, { bearerAuth: [] }], `${name}: log in through Swagger UI, or paste a token`)
    }
  }
  t.same(listing.sort(), demanding.sort())
  // Named ones too, so that the check cannot pass with both lists empty.
  for (const name of ['GET /me', 'POST /messages', 'GET /admin/users', 'GET /admin/stats', 'GET /admin/audit']) {
    t.ok(demanding.includes(name), `${name} demands a token`)
  }
})

t.test('what Swagger UI\'s Authorize sends logs in, and "Try it out" then works', async (t) => {
  const built = await build(t)
  await loginAdmin(built)
  const doc = await fetchDoc(built)
  const flow = ((doc.components as Json).securitySchemes as { oauth2Password: { flows: { password: { tokenUrl: string } } } }).oauth2Password.flows.password
  // Swagger UI 5's password flow by default: the form below, the client credentials in a Basic
  // header (empty id and secret unless typed in), the tokenUrl resolved against the page.
  const res = await fetch(new URL(flow.tokenUrl, built.url), {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(':')}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'grant_type=password&scope=&username=root&password=root-password'
  })
  t.equal(res.status, 200)
  const { access_token: token, token_type: type } = await res.json() as { access_token: string, token_type: string }
  t.equal(type, 'bearer')
  // "Try it out" then sends `Authorization: Bearer <access_token>`.
  const headers = { authorization: `Bearer ${token}` }
  const me = await fetch(`${built.url}/me`, { headers })
  t.same(await me.json(), { username: 'root', roles: ['admin'] })
  const sent = await fetch(`${built.url}/messages`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"type":"from-docs"}' })
  t.equal(sent.status, 202)
  t.equal(((await sent.json()) as Json).user, 'root')
  const stats = await fetch(`${built.url}/admin/stats`, { headers })
  t.equal(stats.status, 200)
})

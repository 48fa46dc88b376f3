import t from 'tap'
import { redactUrl } from '../../src/http/logging.js'
import { build } from '../helper.js'
import { TestSocket, closedWithin } from '../ws-client.js'

type Json = Record<string, unknown>

function parseLines (logs: string): Json[] {
  return logs.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Json)
}

function requestUrl (line: Json): string | undefined {
  const req = line.req
  if (typeof req !== 'object' || req === null) return undefined
  const url = (req as Json).url
  return typeof url === 'string' ? url : undefined
}

/** Ways to put a token in a query string that the server does not read as a credential, and the ones it does. */
function spellings (token: string): string[] {
  return [
    `a=1;token=${token}`,
    `to+ken=${token}`,
    `token%00=${token}`,
    `token[]=${token}`,
    `%2574oken=${token}`,
    `x=1&${token}`,
    `channel=${token}`,
    `token=${token}`,
    `%74oken=${token}`,
    `access_token=${token}&token=${token}`
  ]
}

t.test('no spelling of a token in a query string reaches the log', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const signature = token.split('.')[2] ?? ''
  t.equal(signature.length, 43, 'an HS256 signature to look for')

  for (const query of spellings(token)) {
    for (const path of ['/me', '/health', '/no-such-route']) {
      const res = await fetch(`${built.url}${path}?${query}`)
      await res.arrayBuffer()
    }
    const socket = await TestSocket.open(`${built.wsUrl}/ws?${query}`)
    socket.close()
    await closedWithin(socket)
  }
  // The socket credentials the server does read, so that its auth lines are in the log too.
  const good = await TestSocket.connect(`${built.wsUrl}/ws?token=${token}`)
  good.send({ type: 'refresh', token })
  good.close()
  await closedWithin(good)
  const viaMessage = await TestSocket.open(`${built.wsUrl}/ws`)
  viaMessage.send({ type: 'authenticate', token })
  await viaMessage.next()
  viaMessage.close()
  await closedWithin(viaMessage)

  const logs = built.logs()
  const lines = parseLines(logs)
  t.notOk(logs.includes(signature), 'the token\'s signature appears in no log line')
  t.notOk(logs.includes(token.split('.')[1] ?? token), 'nor its payload')

  const urls = lines.map(requestUrl).filter((url): url is string => url !== undefined)
  // (/health is not request-logged: probes would drown the log.)
  for (const path of ['/me?', '/no-such-route?', '/ws?']) {
    t.ok(urls.filter((url) => url.startsWith(path)).length >= spellings('').length, `every ${path} request was logged`)
  }
  // Counted rather than asserted one by one, so that a failure does not print the token itself.
  const withValues = urls.filter((url) => /=(?!\[redacted\])(?:[^&]|$)/.test(url))
  t.same(withValues.map((url) => url.split('?')[0]), [], 'no logged URL carries a query value')
  const wsAuth = lines.filter((line) => typeof line.msg === 'string' && /websocket auth|refresh/i.test(line.msg))
  t.ok(wsAuth.length >= 2, `${wsAuth.length} WebSocket auth lines`)
  for (const line of wsAuth) t.ok(typeof line.token === 'string' && String(line.token).length <= 12, `masked: ${String(line.token)}`)
})

t.test('redactUrl keeps the path and short parameter names, never a value', async (t) => {
  t.equal(redactUrl('/admin/audit?outcome=failure&limit=20'), '/admin/audit?outcome=[redacted]&limit=[redacted]')
  t.equal(redactUrl('/ws?a=1;token=abc'), '/ws?a=[redacted]')
  t.equal(redactUrl('/ws?to+ken=abc'), '/ws?to+ken=[redacted]')
  t.equal(redactUrl('/ws?token%00=abc'), '/ws?token%00=[redacted]')
  t.equal(redactUrl('/ws?token[]=abc'), '/ws?token[]=[redacted]')
  t.equal(redactUrl('/ws?debug'), '/ws?debug', 'a short bare name stays')
  t.equal(redactUrl(`/ws?${'e'.repeat(40)}`), '/ws?[param]=[redacted]', 'a long bare name could be a token')
  t.equal(redactUrl(`/ws?${'e'.repeat(40)}=1`), '/ws?[param]=[redacted]')
  t.equal(redactUrl('/ws?x=1#token=abc'), '/ws?x=[redacted]#[redacted]', 'a fragment is dropped')
  t.equal(redactUrl('/ws#a?token=abc'), '/ws#[redacted]')
  t.equal(redactUrl('/health'), '/health')
  t.equal(redactUrl('/health?'), '/health?')
})

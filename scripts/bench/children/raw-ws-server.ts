/**
 * The ceiling: a hand-rolled `ws` server doing wsgate's core job and nothing
 * else. HS256 token from `?token=` verified with fast-jwt (as wsgate does,
 * through @fastify/jwt) before the upgrade; every JSON object with a string
 * `type` is stamped with user/timestamp/requestId, serialized once, and sent
 * to every socket, the sender included.
 *
 * Env: PORT, HOST (127.0.0.1), JWT_SECRET_KEY.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { createVerifier } from 'fast-jwt'
import WebSocket, { WebSocketServer, type RawData } from 'ws'

const secret = process.env.JWT_SECRET_KEY ?? ''
if (secret.length < 32) throw new Error('JWT_SECRET_KEY (32+ bytes) is required')
const port = Number(process.env.PORT ?? '0')
const host = process.env.HOST ?? '127.0.0.1'

const verify = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: 5000 })

interface Claims { sub: string, exp: number }

function claimsOf (token: string | null): Claims | undefined {
  if (token === null || token === '' || token.length > 8192) return undefined
  try {
    const payload = verify(token) as { sub?: unknown, exp?: unknown }
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined
    return { sub: payload.sub, exp: payload.exp }
  } catch {
    return undefined
  }
}

const users = new WeakMap<WebSocket, string>()
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 65536 })
const server = createServer((_req, res) => {
  res.writeHead(404).end()
})

server.on('upgrade', (req, socket, head) => {
  const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
  const claims = claimsOf(token)
  if (claims === undefined) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    return
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    users.set(ws, claims.sub)
    ws.on('message', (data: RawData, isBinary: boolean) => { onMessage(ws, data, isBinary) })
    ws.on('error', () => {})
    ws.send(JSON.stringify({ type: 'connection_established', user: claims.sub, connectionId: randomUUID(), expiresAt: claims.exp }))
  })
})

function onMessage (ws: WebSocket, data: RawData, isBinary: boolean): void {
  if (isBinary) return
  let message: unknown
  try {
    message = JSON.parse(Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data as Buffer[]).toString())
  } catch {
    return
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return
  const m = message as Record<string, unknown>
  if (typeof m.type !== 'string') return
  m.user = users.get(ws)
  m.timestamp = Date.now() / 1000
  m.requestId = randomUUID()
  const frame = JSON.stringify(m)
  for (const client of wss.clients) {
    if (client.readyState === WebSocket.OPEN) client.send(frame)
  }
}

server.listen(port, host, () => {
  process.stdout.write(`raw-ws listening on ${host}:${port}\n`)
})
process.on('SIGTERM', () => { process.exit(0) })

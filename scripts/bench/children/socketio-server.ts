/**
 * What users pick instead: Socket.IO 4, websocket transport only, with a JWT
 * middleware verifying the HS256 token from the CONNECT packet's
 * `auth.token` (or `?token=`) with fast-jwt. A `message` event carrying an
 * object with a string `type` is stamped and re-emitted to every socket with
 * `io.emit` (Socket.IO encodes a broadcast once and writes the same frame to
 * every socket).
 *
 * Env: PORT, HOST (127.0.0.1), JWT_SECRET_KEY.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { createVerifier } from 'fast-jwt'
import { Server } from 'socket.io'

const secret = process.env.JWT_SECRET_KEY ?? ''
if (secret.length < 32) throw new Error('JWT_SECRET_KEY (32+ bytes) is required')
const port = Number(process.env.PORT ?? '0')
const host = process.env.HOST ?? '127.0.0.1'

const verify = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: 5000 })

interface SocketData { user: string, exp: number }

const httpServer = createServer((_req, res) => {
  res.writeHead(404).end()
})
const io = new Server<Record<string, (message: unknown) => void>, Record<string, (message: unknown) => void>, Record<string, never>, SocketData>(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 65536
})

io.use((socket, next) => {
  const auth = socket.handshake.auth as { token?: unknown }
  const query = socket.handshake.query.token
  const token = typeof auth.token === 'string' ? auth.token : typeof query === 'string' ? query : ''
  try {
    if (token === '' || token.length > 8192) throw new Error('missing')
    const payload = verify(token) as { sub?: unknown, exp?: unknown }
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new Error('payload')
    socket.data.user = payload.sub
    socket.data.exp = payload.exp
    next()
  } catch {
    next(new Error('Invalid token'))
  }
})

io.on('connection', (socket) => {
  const user = socket.data.user
  socket.emit('message', { type: 'connection_established', user, connectionId: randomUUID(), expiresAt: socket.data.exp })
  socket.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return
    const m = message as Record<string, unknown>
    if (typeof m.type !== 'string') return
    m.user = user
    m.timestamp = Date.now() / 1000
    m.requestId = randomUUID()
    io.emit('message', m)
  })
})

httpServer.listen(port, host, () => {
  process.stdout.write(`socket.io listening on ${host}:${port}\n`)
})
process.on('SIGTERM', () => { process.exit(0) })

/**
 * The sources of a React app for test/client/package.test.ts, written into a
 * scratch project outside the repo. It imports only `wsgate/client` and
 * `wsgate/react`, as it would from the registry, and is typed by the real
 * @types/react. Kept as strings so the repo's own typecheck never resolves
 * `wsgate/*` against itself.
 */

export const appFiles: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      lib: ['es2022', 'dom'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      jsx: 'react-jsx',
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      types: ['node'],
      outDir: 'out',
      rootDir: 'src'
    },
    include: ['src']
  }, null, 2),

  // Used in both Node and the browser.
  'src/round-trip.ts': `
import { login, WsgateClient, type ServerMessage, type WebSocketConstructor } from 'wsgate/client'

export interface RoundTrip { user: unknown, echoed: unknown, statuses: string[] }

/** Logs in, connects, sends one message and waits for its echo. */
export async function roundTrip (baseUrl: string, wsUrl: string, WebSocket?: WebSocketConstructor): Promise<RoundTrip> {
  const tokens = await login(baseUrl, 'user', 'password')
  const statuses: string[] = []
  const messages: ServerMessage[] = []
  return await new Promise<RoundTrip>((resolve, reject) => {
    const timer = setTimeout(() => { client.disconnect(); reject(new Error('no echo: ' + statuses.join(','))) }, 5000)
    const client = new WsgateClient({
      url: wsUrl + '/ws',
      token: tokens.access_token,
      ...(WebSocket !== undefined ? { WebSocket } : {}),
      onStatus: (status) => {
        statuses.push(status)
        if (status === 'open') client.send({ type: 'test', payload: 'hello' })
      },
      onMessage: (message) => {
        messages.push(message)
        if (message.type !== 'test') return
        clearTimeout(timer)
        client.disconnect()
        const established = messages.find((m) => m.type === 'connection_established')
        resolve({ user: established?.user, echoed: message.payload, statuses })
      }
    })
    client.connect()
  })
}
`,

  // The README's React lines, as a component.
  'src/live.tsx': `
import { version } from 'react'
import { TokenSession } from 'wsgate/client'
import { useWsgate } from 'wsgate/react'

export function Live ({ url, session }: { url: string, session: TokenSession }) {
  const { status, messages } = useWsgate({ url, getToken: session.getToken })
  return (
    <section data-react={version}>
      <p id="status">{status}</p>
      <ul id="messages">
        {messages.filter((m) => m.type === 'chat').map((m) => <li key={String(m.requestId)}>{String(m.user)}: {String(m.payload)}</li>)}
      </ul>
    </section>
  )
}
`,

  'src/node.tsx': `
import { renderToString } from 'react-dom/server'
import WebSocket from 'ws'
import { TokenSession } from 'wsgate/client'
import { Live } from './live.js'
import { roundTrip } from './round-trip.js'

const [baseUrl = '', wsUrl = ''] = process.argv.slice(2)
const result = await roundTrip(baseUrl, wsUrl, WebSocket)
// Server rendering runs no effects: the hook renders its first state and opens nothing.
const html = renderToString(<Live url={wsUrl + '/ws'} session={new TokenSession(baseUrl, 'unused')} />)
process.stdout.write(JSON.stringify({ ...result, html }) + '\\n')
`,

  'src/browser.tsx': `
import { createRoot } from 'react-dom/client'
import { TokenSession } from 'wsgate/client'
import { Live } from './live.js'
import { roundTrip } from './round-trip.js'

document.body.innerHTML = '<pre id="result"></pre><div id="root"></div>'
const wsUrl = location.origin.replace(/^http/, 'ws')
const out = document.getElementById('result')
roundTrip('', wsUrl).then(async (result) => {
  if (out !== null) out.textContent = JSON.stringify(result)
  const session = await TokenSession.login('', 'user', 'password')
  createRoot(document.getElementById('root') ?? document.body).render(<Live url={wsUrl + '/ws'} session={session} />)
}, (err: unknown) => {
  if (out !== null) out.textContent = 'error: ' + String(err)
})
`
}

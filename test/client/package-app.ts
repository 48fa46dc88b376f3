/**
 * The sources of a consumer project for test/client/package.test.ts: an app
 * that imports only `wsgate/client` and `wsgate/react`, as it would from the
 * registry. Kept as strings so the repo's own typecheck never resolves
 * `wsgate/*` against itself.
 */

export const scratchFiles: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }, null, 2),

  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      lib: ['es2022', 'dom'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      types: ['node'],
      outDir: 'out',
      rootDir: 'src'
    },
    include: ['src']
  }, null, 2),

  // The app's React types, as @types/react would give them: it is not
  // installed on this machine. wsgate's own declarations need none.
  'src/react-types.d.ts': `
declare module 'react' {
  export interface ReactElement { type: unknown, props: unknown }
  export function createElement<P extends object> (type: string | ((props: P) => ReactElement), props: P | null, ...children: unknown[]): ReactElement
}
declare module 'react-dom/server' {
  export function renderToString (element: import('react').ReactElement): string
}
declare module 'react-dom/client' {
  export function createRoot (container: Element): { render (element: import('react').ReactElement): void, unmount (): void }
}
`,

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

  // The React part: the README's five lines, give or take.
  'src/status.ts': `
import { createElement, type ReactElement } from 'react'
import { TokenSession } from 'wsgate/client'
import { useWsgate } from 'wsgate/react'

export function Status (props: { url: string, session: TokenSession }): ReactElement {
  const { status, messages } = useWsgate({ url: props.url, getToken: props.session.getToken })
  return createElement('p', { id: 'status' }, status + ' ' + String(messages.length))
}
`,

  'src/node.ts': `
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import WebSocket from 'ws'
import { TokenSession } from 'wsgate/client'
import { roundTrip } from './round-trip.js'
import { Status } from './status.js'

const [baseUrl = '', wsUrl = ''] = process.argv.slice(2)
const result = await roundTrip(baseUrl, wsUrl, WebSocket)
// Server rendering runs no effects: the hook renders its first state and opens nothing.
const html = renderToString(createElement(Status, { url: wsUrl + '/ws', session: new TokenSession(baseUrl, 'unused') }))
process.stdout.write(JSON.stringify({ ...result, html }) + '\\n')
`,

  'src/browser.ts': `
import { createElement } from 'react'
import { createRoot } from 'react-dom/client'
import { TokenSession } from 'wsgate/client'
import { roundTrip } from './round-trip.js'
import { Status } from './status.js'

document.body.innerHTML = '<pre id="result"></pre><div id="root"></div>'
const wsUrl = location.origin.replace(/^http/, 'ws')
const out = document.getElementById('result')
roundTrip('', wsUrl).then(async (result) => {
  if (out !== null) out.textContent = JSON.stringify(result)
  const session = await TokenSession.login('', 'user', 'password')
  createRoot(document.getElementById('root') ?? document.body).render(createElement(Status, { url: wsUrl + '/ws', session }))
}, (err: unknown) => {
  if (out !== null) out.textContent = 'error: ' + String(err)
})
`
}

/**
 * A one-component React app for test/web/react-hook.ts, bundled
 * by esbuild and run in Chromium: it renders useWsgate from wsgate/react on
 * the installed React and react-dom, and counts the client's sockets and
 * timers so the test can see that an unmounted hook leaves nothing behind.
 */
import { StrictMode, createElement, useEffect, version, type ReactElement } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { TokenSession, type CloseInfo, type ConnectionStatus, type Scheduler } from '../../src/client/index.js'
import { useWsgate, type UseWsgateOptions, type UseWsgateResult } from '../../src/client/react-entry.js'
import type { HookApp, HookSnapshot } from './hook-app-api.js'

const sockets: WebSocket[] = []
let pendingTasks = 0
let renders = 0
let mounts = 0
const statuses: ConnectionStatus[] = []
const closes: CloseInfo[] = []
let latest: UseWsgateResult | undefined
let root: Root | undefined

class CountedWebSocket extends WebSocket {
  constructor (url: string, protocols?: string | string[]) {
    super(url, protocols)
    sockets.push(this)
  }
}

const schedule: Scheduler = (task, delayMs) => {
  let settled = false
  pendingTasks++
  const settle = (): boolean => { if (settled) return false; settled = true; pendingTasks--; return true }
  const timer = setTimeout(() => { if (settle()) task() }, delayMs)
  return () => { if (settle()) clearTimeout(timer) }
}

function Probe (props: { options: UseWsgateOptions }): ReactElement {
  renders++
  const result = useWsgate(props.options)
  latest = result
  useEffect(() => { mounts++ }, [])
  useEffect(() => { if (statuses.at(-1) !== result.status) statuses.push(result.status) }, [result.status])
  useEffect(() => { if (result.lastClose !== undefined) closes.push(result.lastClose) }, [result.lastClose])
  return createElement('p', { id: 'status' }, result.status)
}

const app: HookApp = {
  mount (options) {
    const session = new TokenSession('', options.tokens, { refreshMarginMs: 0 })
    const hookOptions: UseWsgateOptions = {
      url: options.url,
      getToken: session.getToken,
      WebSocket: CountedWebSocket,
      schedule,
      ...(options.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.refreshBeforeMs } : {}),
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {})
    }
    document.body.innerHTML = '<div id="root"></div>'
    root = createRoot(document.getElementById('root') ?? document.body)
    const probe = createElement(Probe, { options: hookOptions })
    root.render(options.strict === true ? createElement(StrictMode, null, probe) : probe)
  },
  unmount () {
    root?.unmount()
    root = undefined
  },
  send: (message) => latest?.send(message) ?? false,
  snapshot: (): HookSnapshot => ({
    react: version,
    status: latest?.status ?? 'idle',
    statuses: [...statuses],
    messages: [...(latest?.messages ?? [])],
    lastClose: latest?.lastClose,
    closes: [...closes],
    renders,
    mounts,
    createdSockets: sockets.length,
    liveSockets: sockets.filter((s) => s.readyState !== WebSocket.CLOSED).length,
    pendingTasks
  })
}

;(window as unknown as { hookApp: HookApp }).hookApp = app

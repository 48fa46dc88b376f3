import type { CloseInfo, ConnectionStatus, ServerMessage, TokenResponse } from '../../src/client/index.js'

/** What test/web/hook-app.ts puts on `window.hookApp`, for the test to drive it. */
export interface HookApp {
  mount (options: MountOptions): void
  unmount (): void
  send (message: object): boolean
  snapshot (): HookSnapshot
}

export interface MountOptions {
  /** `ws://host/ws` */
  url: string
  /** From a login in the test; the page keeps them in a TokenSession. */
  tokens: TokenResponse
  refreshBeforeMs?: number | false
  backoff?: { baseMs: number, maxMs: number }
  /** Render inside <StrictMode>: a development build mounts, unmounts and mounts again. */
  strict?: boolean
}

export interface HookSnapshot {
  /** React.version, as bundled. */
  react: string
  status: ConnectionStatus
  /** Each status the component rendered, in order, repeats collapsed. */
  statuses: ConnectionStatus[]
  messages: ServerMessage[]
  lastClose: CloseInfo | undefined
  /** Each lastClose the component rendered, in order. */
  closes: CloseInfo[]
  renders: number
  /** Times the component's effects ran as on a mount: twice under StrictMode in development. */
  mounts: number
  /** Sockets the hook's clients created, and those not CLOSED yet. */
  createdSockets: number
  liveSockets: number
  /** Timers the client scheduled (reconnects, refreshes) that neither ran nor were cancelled. */
  pendingTasks: number
}

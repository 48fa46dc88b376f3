import { WsgateClient, type WsgateClientOptions } from './client.js'
import type { CloseInfo, ConnectionStatus, ServerMessage } from './types.js'

/**
 * The three hooks used, typed structurally so this file compiles without the
 * react package: pass React itself, `createUseWsgate(React)`.
 */
export interface ReactHooks {
  useState: <S>(initial: S) => [S, (next: S | ((previous: S) => S)) => void]
  useEffect: (effect: () => void | (() => void), deps?: readonly unknown[]) => void
  useRef: <T>(initial: T) => { current: T }
}

export interface UseWsgateOptions extends Omit<WsgateClientOptions, 'onMessage' | 'onStatus' | 'onClose'> {
  /** Keep at most this many messages (default 200); the oldest go first. */
  maxMessages?: number
  /** False keeps the socket closed, e.g. until the user has logged in. */
  enabled?: boolean
  onMessage?: (message: ServerMessage) => void
}

export interface UseWsgateResult {
  status: ConnectionStatus
  messages: ServerMessage[]
  /** False when not connected. */
  send: (message: object | string) => boolean
  lastClose: CloseInfo | undefined
}

/**
 * `const useWsgate = createUseWsgate(React)`. The socket is opened on mount
 * and closed on unmount; it is rebuilt only when the url, transport or
 * enabled flag change, so an inline options object does not reconnect on
 * every render. The latest callbacks and token source are always used.
 */
export function createUseWsgate (react: ReactHooks): (options: UseWsgateOptions) => UseWsgateResult {
  return function useWsgate (options: UseWsgateOptions): UseWsgateResult {
    const [status, setStatus] = react.useState<ConnectionStatus>('idle')
    const [messages, setMessages] = react.useState<ServerMessage[]>([])
    const [lastClose, setLastClose] = react.useState<CloseInfo | undefined>(undefined)
    const latest = react.useRef(options)
    latest.current = options
    const client = react.useRef<WsgateClient | undefined>(undefined)
    const enabled = options.enabled ?? true

    react.useEffect(() => {
      if (!enabled) return
      const { maxMessages: _max, enabled: _enabled, onMessage: _onMessage, token, getToken, ...rest } = latest.current
      const instance = new WsgateClient({
        ...rest,
        ...(getToken !== undefined
          ? { getToken: async (reason) => await (latest.current.getToken ?? getToken)(reason) }
          : { token }),
        onStatus: (next) => { setStatus(next) },
        onClose: (close) => { setLastClose(close) },
        onMessage: (message) => {
          const max = latest.current.maxMessages ?? 200
          setMessages((previous) => [...previous, message].slice(-max))
          latest.current.onMessage?.(message)
        }
      })
      client.current = instance
      instance.connect()
      return () => {
        instance.disconnect()
        client.current = undefined
      }
    }, [options.url, options.transport, enabled])

    return {
      status,
      messages,
      send: (message) => client.current?.send(message) ?? false,
      lastClose
    }
  }
}

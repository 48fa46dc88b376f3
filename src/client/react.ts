import { WsgateClient, type WsgateClientOptions } from './client.js'
import type { ChannelHandlers, ChannelRemoval, ChannelState, CloseInfo, ConnectionStatus, ServerMessage } from './types.js'

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
  /** The hook's client while mounted and enabled, for `useChannel`. */
  client: WsgateClient | undefined
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
    // Also in state, so that a useChannel given it subscribes once it exists.
    const [current, setCurrent] = react.useState<WsgateClient | undefined>(undefined)
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
      setCurrent(instance)
      instance.connect()
      return () => {
        instance.disconnect()
        client.current = undefined
        setCurrent(undefined)
      }
    }, [options.url, options.transport, enabled])

    return {
      status,
      messages,
      send: (message) => client.current?.send(message) ?? false,
      lastClose,
      client: current
    }
  }
}

export interface UseChannelOptions extends ChannelHandlers {
  /** Keep at most this many messages (default 200); the oldest go first. */
  maxMessages?: number
}

export interface UseChannelResult {
  /** The channel's messages, each once, in offset order, replayed ones included. */
  messages: ServerMessage[]
  /** Undefined without a client or channel, and after the server removed the channel. */
  state: ChannelState | undefined
  /** Counts failed recoveries: an effect that depends on it reloads the channel's state. */
  recoveryFailures: number
  /** Why the server refused or ended the subscription, if it did. */
  removed: ChannelRemoval | undefined
}

/**
 * `const useChannel = createUseChannel(React)`; `useChannel(client, 'chat:lobby')`
 * with the client of useWsgate (or any WsgateClient). Subscribes while
 * mounted, again when the client or channel changes, and leaves on unmount;
 * the latest handlers in `options` are always used.
 */
export function createUseChannel (react: ReactHooks): (client: WsgateClient | undefined, channel: string | undefined, options?: UseChannelOptions) => UseChannelResult {
  return function useChannel (client, channel, options = {}): UseChannelResult {
    const [messages, setMessages] = react.useState<ServerMessage[]>([])
    const [state, setState] = react.useState<ChannelState | undefined>(undefined)
    const [recoveryFailures, setRecoveryFailures] = react.useState(0)
    const [removed, setRemoved] = react.useState<ChannelRemoval | undefined>(undefined)
    const latest = react.useRef(options)
    latest.current = options

    react.useEffect(() => {
      setMessages([])
      setRemoved(undefined)
      if (client === undefined || channel === undefined || channel === '') {
        setState(undefined)
        return
      }
      const subscription = client.subscribe(channel, {
        onMessage: (message, next) => {
          setMessages((previous) => [...previous, message].slice(-(latest.current.maxMessages ?? 200)))
          setState(next)
          latest.current.onMessage?.(message, next)
        },
        onSubscribed: (next) => { setState(next); latest.current.onSubscribed?.(next) },
        onRecoveryFailed: (next) => { setRecoveryFailures((n) => n + 1); latest.current.onRecoveryFailed?.(next) },
        onUnsubscribed: (removal) => { setState(undefined); setRemoved(removal); latest.current.onUnsubscribed?.(removal) },
        onJoin: (member) => { latest.current.onJoin?.(member) },
        onLeave: (member) => { latest.current.onLeave?.(member) }
      })
      setState(subscription.state)
      return () => { subscription.unsubscribe() }
    }, [client, channel])

    return { messages, state, recoveryFailures, removed }
  }
}

import type { Principal } from '../auth/principal.js'
import { ADMIN_NAMESPACE, GLOBAL_CHANNEL, USER_NAMESPACE, splitChannel } from '../protocol/index.js'
import { loadChannelsFile } from './channels-file.js'
import {
  ADMIN_OPTIONS, DEFAULT_NAMESPACE, GLOBAL_OPTIONS, USER_OPTIONS, openNamespace, ruleRole,
  type NamespaceOptions
} from './namespaces.js'

/** The role the server itself knows (src/auth/bearer.ts's ADMIN_ROLE, which channels may not import). */
const ADMIN_ROLE = 'admin'

/** Who publishes: a socket, or the server (`POST /messages`, admin broadcasts). */
export type PublishVia = 'socket' | 'server'

/** Who may publish to or subscribe to a channel; only the roles and the username of a principal matter. */
export type Caller = Pick<Principal, 'username' | 'roles'>

const isAdmin = (who: Caller): boolean => who.roles.includes(ADMIN_ROLE)

/** What a channel is: a built-in, a configured namespace, or a name no namespace covers (a string saying why). */
type Resolved =
  | { readonly kind: 'global' | 'admin' | 'namespace', readonly options: NamespaceOptions }
  | { readonly kind: 'user', readonly options: NamespaceOptions, readonly owner: string }
  | { readonly kind: 'none', readonly why: string }

/**
 * Who may subscribe to, publish to, and ask who is in each channel. Built
 * in, and fixed: `global` (everyone, as every socket starts there),
 * `user:<name>` (personal) and `admin:*` (role admin). Bare names are the
 * `default` namespace, open unless CHANNELS_FILE says otherwise; any other
 * namespace must be in that file, or the channel is refused. Every refusal
 * is a sentence for the client's error frame; undefined means allowed.
 */
export class ChannelPolicy {
  private readonly defaults: NamespaceOptions

  constructor (private readonly namespaces: ReadonlyMap<string, NamespaceOptions> = new Map()) {
    this.defaults = namespaces.get(DEFAULT_NAMESPACE) ?? openNamespace(DEFAULT_NAMESPACE)
  }

  /** The policy of a CHANNELS_FILE (throws ChannelsFileError), or today's open one without a file. */
  static load (path: string | undefined): ChannelPolicy {
    return new ChannelPolicy(path === undefined ? new Map() : loadChannelsFile(path))
  }

  /** The namespaces the file configured, `default` included when it is there. */
  configured (): string[] {
    return [...this.namespaces.keys()]
  }

  /** A channel's options; a channel no namespace covers gets closed ones (nobody subscribes or publishes). */
  options (channel: string): NamespaceOptions {
    const resolved = this.resolve(channel)
    return resolved.kind === 'none' ? CLOSED : resolved.options
  }

  subscribeRefusal (principal: Caller, channel: string): string | undefined {
    const resolved = this.resolve(channel)
    switch (resolved.kind) {
      case 'none': return resolved.why
      case 'global': return undefined
      case 'user': return principal.username === resolved.owner ? undefined : `Only ${resolved.owner} may subscribe to "${channel}"`
      case 'admin':
      case 'namespace': {
        const { subscribe, name } = resolved.options
        if (subscribe === 'anyone') return undefined
        if (subscribe === 'server') return `Nobody subscribes to channels of namespace "${name}": the server publishes there`
        const role = ruleRole(subscribe) ?? ''
        return principal.roles.includes(role) ? undefined : `Channels of namespace "${name}" need role ${role} to subscribe`
      }
    }
  }

  /**
   * Whether `sender` may publish to `channel`. `subscribed` says whether the
   * publishing socket is in the channel (false for the server). An admin's
   * server publish reaches every channel a namespace covers.
   */
  publishRefusal (sender: Caller, channel: string, via: PublishVia, subscribed: boolean): string | undefined {
    const resolved = this.resolve(channel)
    if (resolved.kind === 'none') return resolved.why
    if (via === 'server' && isAdmin(sender)) return undefined
    if (resolved.kind === 'user') {
      return sender.username === resolved.owner || isAdmin(sender) ? undefined : `Only ${resolved.owner} and admins may publish to "${channel}"`
    }
    const { publish, name } = resolved.options
    switch (publish) {
      case 'anyone': return undefined
      case 'server': return `Only the server publishes to channels of namespace "${name}" (POST /messages by an admin)`
      case 'subscribers':
        if (via === 'socket') return subscribed ? undefined : `Not subscribed to channel "${channel}"`
        return this.subscribeRefusal(sender, channel) === undefined ? undefined : `Only those who may subscribe to "${channel}" may publish to it`
      default: {
        const role = ruleRole(publish) ?? ''
        return sender.roles.includes(role) ? undefined : `Channels of namespace "${name}" need role ${role} to publish`
      }
    }
  }

  /** An admin broadcast: the server itself speaks, so only a channel no namespace covers is refused. */
  broadcastRefusal (channel: string): string | undefined {
    const resolved = this.resolve(channel)
    return resolved.kind === 'none' ? resolved.why : undefined
  }

  /** Asking who is in a channel: the asker must be allowed to subscribe, and presence must be on. */
  presenceRefusal (principal: Caller, channel: string): string | undefined {
    const refused = this.subscribeRefusal(principal, channel)
    if (refused !== undefined) return refused
    const { presence, name } = this.options(channel)
    return presence ? undefined : `Presence is off for namespace "${name}"`
  }

  private resolve (channel: string): Resolved {
    if (channel === GLOBAL_CHANNEL) return { kind: 'global', options: GLOBAL_OPTIONS }
    const { namespace, rest } = splitChannel(channel)
    if (namespace === undefined) return { kind: 'namespace', options: this.defaults }
    if (namespace === '' || rest === '') return { kind: 'none', why: `"${channel}" is not a channel name: write name or namespace:name` }
    switch (namespace) {
      case USER_NAMESPACE: return { kind: 'user', options: USER_OPTIONS, owner: rest }
      case ADMIN_NAMESPACE: return { kind: 'admin', options: ADMIN_OPTIONS }
      case GLOBAL_CHANNEL: return { kind: 'none', why: `The global namespace has one channel, "${GLOBAL_CHANNEL}"` }
    }
    // `default` names bare channels in the file; `default:x` is not one of them.
    const options = namespace === DEFAULT_NAMESPACE ? undefined : this.namespaces.get(namespace)
    return options === undefined ? { kind: 'none', why: `No namespace "${namespace}" is configured` } : { kind: 'namespace', options }
  }
}

const CLOSED: NamespaceOptions = Object.freeze({ ...openNamespace('none'), subscribe: 'server', publish: 'server' })

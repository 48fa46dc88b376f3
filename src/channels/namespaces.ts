import { DEFAULT_HISTORY, type HistoryOptions } from './history.js'
/**
 * What a namespace allows and keeps. The built-in namespaces are fixed here;
 * the others come from CHANNELS_FILE (see channels-file.ts).
 */

/** Who may subscribe from a socket: anyone, holders of a role, or nobody (`server`). */
export type SubscribeRule = 'anyone' | 'server' | `role:${string}`

/**
 * Who may publish: `subscribers` (a socket in the channel; `POST /messages`
 * from anyone allowed to subscribe), `anyone`, holders of a role, or only the
 * server (`POST /messages` by an admin, admin broadcasts).
 */
export type PublishRule = 'subscribers' | 'anyone' | 'server' | `role:${string}`


export interface NamespaceOptions {
  /** The namespace's name; `default` for bare channel names. */
  readonly name: string
  readonly subscribe: SubscribeRule
  readonly publish: PublishRule
  readonly presence: boolean
  readonly joinLeave: boolean
  readonly history: HistoryOptions
}

/** The namespace of bare channel names, in CHANNELS_FILE and in NamespaceOptions.name. */
export const DEFAULT_NAMESPACE = 'default'

/** Names the file may not use: these namespaces are built in and fixed. */
export const RESERVED_NAMESPACES: readonly string[] = ['global', 'user', 'admin']


/** Every option a namespace in the file leaves out: open, as bare channels were before namespaces. */
export function openNamespace (name: string): NamespaceOptions {
  return Object.freeze({ name, subscribe: 'anyone', publish: 'subscribers', presence: false, joinLeave: false, history: DEFAULT_HISTORY })
}

/** `global`: every socket is in it from the start and may publish while it stays in. */
export const GLOBAL_OPTIONS: NamespaceOptions = openNamespace('global')

/** `user:<name>`: the owner subscribes and asks who is there; owner and admins publish. */
export const USER_OPTIONS: NamespaceOptions = Object.freeze({ ...openNamespace('user'), presence: true })

/** `admin:*`: role admin only, both ways. */
export const ADMIN_OPTIONS: NamespaceOptions = Object.freeze({ ...openNamespace('admin'), subscribe: 'role:admin', publish: 'role:admin' })

/** The role a `role:<role>` rule names, or undefined for the other rules. */
export function ruleRole (rule: SubscribeRule | PublishRule): string | undefined {
  return rule.startsWith('role:') ? rule.slice('role:'.length) : undefined
}

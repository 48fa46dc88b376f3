import type { AuditSink } from '../audit/events.js'
import type { PasswordHasher } from '../auth/passwords.js'
import { passwordProblem } from '../auth/passwords.js'
import { ADMIN_ROLE } from '../auth/bearer.js'
import type { SessionService } from '../auth/sessions.js'
import type { Broker } from '../broker/broker.js'
import { ApiError } from '../errors.js'
import { DuplicateUserError, type User, type UserStore } from '../store/users.js'

/** The admin behind a change: what the audit row says about who did it. */
export interface Actor {
  readonly username: string
  readonly ip: string
  readonly userAgent: string | null
}

/** A user as the admin API shows it: never the hash. */
export interface Account {
  readonly username: string
  readonly roles: string[]
  readonly disabled: boolean
  readonly createdAt: string
  readonly updatedAt: string
}

export interface NewAccount {
  readonly username: string
  readonly password: string
  readonly roles?: readonly string[]
}

export const USERNAME_PATTERN = /^[A-Za-z0-9_.@-]{1,128}$/
export const ROLE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/
/** Width of users.roles, where roles are stored comma-separated. */
const ROLES_WIDTH = 256

function toAccount (user: User): Account {
  return { username: user.username, roles: [...user.roles], disabled: user.disabled, createdAt: user.createdAt, updatedAt: user.updatedAt }
}

function notFound (username: string): ApiError {
  return new ApiError('notFound', `No user named "${username}"`)
}

function checkPassword (password: string): void {
  const problem = passwordProblem(password)
  if (problem !== undefined) throw new ApiError('invalidRequest', problem)
}

function checkRoles (roles: readonly string[]): string[] {
  const bad = roles.find((role) => !ROLE_PATTERN.test(role))
  if (bad !== undefined) throw new ApiError('invalidRequest', `Invalid role "${bad.slice(0, 64)}": use 1-64 of A-Z a-z 0-9 _ . : -`)
  const unique = [...new Set(roles)].sort()
  if (unique.join(',').length > ROLES_WIDTH) throw new ApiError('invalidRequest', `Too many roles: at most ${ROLES_WIDTH} characters together`)
  return unique
}

/**
 * User management for admins, over REST and from the users CLI. Every change,
 * refused or done, is audited as `admin_action` under the acting admin's name.
 * Disabling, deleting and resetting a password end the user's sessions, which
 * the broker tells every instance, so their sockets close at once; new roles
 * go out on the broker too, so open sockets leave channels they no longer allow.
 */
export class AccountService {
  constructor (
    private readonly users: UserStore,
    private readonly passwords: Pick<PasswordHasher, 'hash'>,
    private readonly sessions: Pick<SessionService, 'revokeUser'>,
    private readonly audit: AuditSink,
    private readonly broker: Pick<Broker, 'publish'>
  ) {}

  async list (): Promise<Account[]> {
    return (await this.users.list()).map(toAccount)
  }

  /** One account, or undefined: a read, so nothing is audited. */
  async find (username: string): Promise<Account | undefined> {
    const user = await this.users.findByUsername(username)
    return user === undefined ? undefined : toAccount(user)
  }

  async create (actor: Actor, input: NewAccount): Promise<Account> {
    return await this.audited(actor, `create user ${input.username}`, async () => {
      if (!USERNAME_PATTERN.test(input.username)) throw new ApiError('invalidRequest', 'Invalid username: use 1-128 of A-Z a-z 0-9 _ . @ -')
      checkPassword(input.password)
      const roles = checkRoles(input.roles ?? [])
      const duplicate = new ApiError('conflict', `User "${input.username}" already exists`)
      if (await this.users.findByUsername(input.username) !== undefined) throw duplicate
      const passwordHash = await this.passwords.hash(input.password)
      try {
        return toAccount(await this.users.create({ username: input.username, passwordHash, roles }))
      } catch (err) {
        // A concurrent create can win between the check and the insert.
        if (err instanceof DuplicateUserError || await this.users.findByUsername(input.username) !== undefined) throw duplicate
        throw err
      }
    })
  }

  async disable (actor: Actor, username: string): Promise<Account> {
    return await this.audited(actor, `disable user ${username}`, async () => {
      if (username === actor.username) throw new ApiError('invalidRequest', 'You cannot disable your own account; ask another admin')
      if (!await this.users.setDisabled(username, true)) throw notFound(username)
      await this.sessions.revokeUser(username, 'disabled by admin')
      return await this.reload(username)
    })
  }

  async enable (actor: Actor, username: string): Promise<Account> {
    return await this.audited(actor, `enable user ${username}`, async () => {
      if (!await this.users.setDisabled(username, false)) throw notFound(username)
      return await this.reload(username)
    })
  }

  async remove (actor: Actor, username: string): Promise<void> {
    await this.audited(actor, `delete user ${username}`, async () => {
      if (username === actor.username) throw new ApiError('invalidRequest', 'You cannot delete your own account; ask another admin')
      if (!await this.users.delete(username)) throw notFound(username)
      await this.sessions.revokeUser(username, 'deleted by admin')
    })
  }

  async setRoles (actor: Actor, username: string, roles: readonly string[]): Promise<Account> {
    const wanted = [...new Set(roles)].sort().join(',')
    return await this.audited(actor, `set roles of ${username} to [${wanted.slice(0, 300)}]`, async () => {
      // As with disable and delete: the acting admin always remains, so there is always one.
      if (username === actor.username && !roles.includes(ADMIN_ROLE)) {
        throw new ApiError('invalidRequest', 'You cannot remove your own admin role; ask another admin')
      }
      if (!await this.users.setRoles(username, checkRoles(roles))) throw notFound(username)
      const account = await this.reload(username)
      await this.broker.publish({ kind: 'user-roles', username, roles: account.roles })
      return account
    })
  }

  async resetPassword (actor: Actor, username: string, password: string): Promise<void> {
    await this.audited(actor, `reset password of ${username}`, async () => {
      checkPassword(password)
      // Checked before hashing: an unknown name should not cost a bcrypt round.
      if (await this.users.findByUsername(username) === undefined) throw notFound(username)
      const passwordHash = await this.passwords.hash(password)
      if (!await this.users.setPasswordHash(username, passwordHash)) throw notFound(username)
      await this.sessions.revokeUser(username, 'password reset by admin')
    })
  }

  private async reload (username: string): Promise<Account> {
    const user = await this.users.findByUsername(username)
    if (user === undefined) throw notFound(username)
    return toAccount(user)
  }

  private async audited<T> (actor: Actor, action: string, change: () => Promise<T>): Promise<T> {
    return await auditedAction(this.audit, actor, action, change)
  }
}

/** Runs one admin change and records it as `admin_action`, with the refusal's message when it fails. */
export async function auditedAction<T> (audit: AuditSink, actor: Actor, action: string, change: () => Promise<T>): Promise<T> {
  const base = { kind: 'admin_action' as const, username: actor.username, ip: actor.ip, userAgent: actor.userAgent }
  try {
    const result = await change()
    audit.record({ ...base, outcome: 'success', reason: action })
    return result
  } catch (err) {
    const why = err instanceof ApiError ? err.message : 'internal error'
    audit.record({ ...base, outcome: 'failure', reason: `${action}: ${why}` })
    throw err
  }
}

import type { Selectable } from 'kysely'
import type { Db } from './db.js'
import type { UsersTable } from './schema.js'

export interface User {
  readonly id: number
  readonly username: string
  readonly passwordHash: string
  readonly roles: readonly string[]
  readonly disabled: boolean
  readonly createdAt: string
  readonly updatedAt: string
}

export class DuplicateUserError extends Error {
  constructor (username: string) {
    super(`User "${username}" already exists`)
    this.name = 'DuplicateUserError'
  }
}

function toUser (row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    roles: row.roles === '' ? [] : row.roles.split(','),
    disabled: row.disabled !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

function encodeRoles (roles: readonly string[]): string {
  return [...new Set(roles.map((r) => r.trim()).filter((r) => r !== ''))].sort().join(',')
}

/** The users table. Knows SQL; knows nothing of hashing or HTTP. */
export class UserStore {
  constructor (private readonly db: Db) {}

  async findByUsername (username: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
    return row === undefined ? undefined : toUser(row)
  }

  async list (): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute()
    return rows.map(toUser)
  }

  /** Of the given names, those that are disabled or no longer exist. */
  async inactiveAmong (usernames: readonly string[]): Promise<string[]> {
    if (usernames.length === 0) return []
    const rows = await this.db.selectFrom('users').select('username').where('username', 'in', usernames).where('disabled', '=', 0).execute()
    const active = new Set(rows.map((r) => r.username))
    return usernames.filter((name) => !active.has(name))
  }

  async count (): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /**
   * Throws DuplicateUserError when the name is taken. The unique constraint
   * decides, not a look beforehand: of two concurrent creates (two instances,
   * or the CLI and an admin) exactly one inserts. `on conflict … do nothing
   * returning` is the same statement on SQLite and Postgres, and returns no
   * row for the loser instead of an engine-specific error to decode.
   */
  async create (input: { username: string, passwordHash: string, roles?: readonly string[] }): Promise<User> {
    const now = new Date().toISOString()
    const row = await this.db.insertInto('users').values({
      username: input.username,
      password_hash: input.passwordHash,
      roles: encodeRoles(input.roles ?? []),
      disabled: 0,
      created_at: now,
      updated_at: now
    }).onConflict((oc) => oc.column('username').doNothing()).returningAll().executeTakeFirst()
    if (row === undefined) throw new DuplicateUserError(input.username)
    return toUser(row)
  }

  /** Each update returns whether a user of that name existed. */
  async setPasswordHash (username: string, passwordHash: string): Promise<boolean> {
    return await this.update(username, { password_hash: passwordHash })
  }

  async setDisabled (username: string, disabled: boolean): Promise<boolean> {
    return await this.update(username, { disabled: disabled ? 1 : 0 })
  }

  async setRoles (username: string, roles: readonly string[]): Promise<boolean> {
    return await this.update(username, { roles: encodeRoles(roles) })
  }

  async delete (username: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('username', '=', username).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  private async update (username: string, values: Partial<Pick<UsersTable, 'password_hash' | 'disabled' | 'roles'>>): Promise<boolean> {
    const result = await this.db.updateTable('users')
      .set({ ...values, updated_at: new Date().toISOString() })
      .where('username', '=', username)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }
}

import { existsSync } from 'node:fs'
import { PasswordHasher, passwordProblem } from '../src/auth/passwords.js'
import { ConfigError, loadConfig, type Config } from '../src/config.js'
import { openDb } from '../src/store/db.js'
import { SessionStore } from '../src/store/sessions.js'
import { DuplicateUserError, UserStore, type User } from '../src/store/users.js'
import { readNewPassword } from './lib/prompt.js'
import { parseCommand, USAGE, UsageError, type Command } from './lib/users-args.js'

/**
 * User management against the server's own database:
 *   npm run users -- add alice --role admin
 * Exit codes: 0 done, 1 refused (unknown or duplicate user, bad password), 2 usage or configuration.
 */

/** What the command refused to do; exit 1. */
class Refused extends Error {
  override name = 'Refused'
}

interface Context {
  readonly users: UserStore
  readonly sessions: SessionStore
  /** Started only by the commands that hash, so that list and disable stay quick. */
  readonly hasher: () => Promise<PasswordHasher>
}

function noSuchUser (name: string): Refused {
  return new Refused(`No user named "${name}"`)
}

async function newPasswordHash (ctx: Context): Promise<string> {
  const password = await readNewPassword().catch((err: unknown) => {
    throw new Refused(err instanceof Error ? err.message : String(err))
  })
  const problem = passwordProblem(password)
  if (problem !== undefined) throw new Refused(problem)
  return await (await ctx.hasher()).hash(password)
}

function table (users: readonly User[]): string {
  const rows = [
    ['USERNAME', 'ROLES', 'DISABLED', 'CREATED'],
    ...users.map((u) => [u.username, u.roles.length > 0 ? u.roles.join(',') : '-', u.disabled ? 'yes' : 'no', u.createdAt])
  ]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? []
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

async function run (command: Exclude<Command, { name: 'help' }>, ctx: Context): Promise<string> {
  const { users } = ctx
  switch (command.name) {
    case 'list': {
      const all = await users.list()
      return all.length === 0 ? 'No users.' : table(all)
    }
    case 'add': {
      // Refuse before asking for a password that would be thrown away.
      if (await users.findByUsername(command.user) !== undefined) throw new DuplicateUserError(command.user)
      const passwordHash = await newPasswordHash(ctx)
      const user = await users.create({ username: command.user, passwordHash, roles: command.roles })
      return `Added user "${user.username}"${user.roles.length > 0 ? ` with roles ${user.roles.join(', ')}` : ''}`
    }
    case 'passwd': {
      if (await users.findByUsername(command.user) === undefined) throw noSuchUser(command.user)
      if (!await users.setPasswordHash(command.user, await newPasswordHash(ctx))) throw noSuchUser(command.user)
      await ctx.sessions.revokeAllOf(command.user, 'password changed')
      return `Changed the password of "${command.user}"`
    }
    case 'disable':
    case 'enable': {
      if (!await users.setDisabled(command.user, command.name === 'disable')) throw noSuchUser(command.user)
      // Ending the sessions keeps a later `enable` from reviving old refresh tokens.
      if (command.name === 'disable') await ctx.sessions.revokeAllOf(command.user, 'user disabled')
      return `${command.name === 'disable' ? 'Disabled' : 'Enabled'} user "${command.user}"`
    }
    case 'delete': {
      if (!await users.delete(command.user)) throw noSuchUser(command.user)
      await ctx.sessions.revokeAllOf(command.user, 'user deleted')
      return `Deleted user "${command.user}"`
    }
    case 'role': {
      const user = await users.findByUsername(command.user)
      if (user === undefined) throw noSuchUser(command.user)
      const has = user.roles.includes(command.role)
      if (command.action === 'add' && has) return `"${user.username}" already has role ${command.role}`
      if (command.action === 'remove' && !has) return `"${user.username}" does not have role ${command.role}`
      const roles = command.action === 'add' ? [...user.roles, command.role] : user.roles.filter((r) => r !== command.role)
      if (!await users.setRoles(user.username, roles)) throw noSuchUser(command.user)
      return command.action === 'add'
        ? `Granted role ${command.role} to "${user.username}"`
        : `Removed role ${command.role} from "${user.username}"`
    }
  }
}

function readConfig (): Config {
  // Same .env as the server; variables already in the environment win.
  if (existsSync('.env')) process.loadEnvFile?.('.env')
  return loadConfig(process.env)
}

async function main (argv: readonly string[]): Promise<number> {
  let command: Command
  let config: Config
  try {
    command = parseCommand(argv)
    if (command.name === 'help') {
      console.log(USAGE)
      return 0
    }
    config = readConfig()
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`)
      return 2
    }
    if (err instanceof ConfigError) {
      console.error(`Invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`)
      return 2
    }
    throw err
  }

  const db = await openDb(config.databaseUrl)
  let hasher: Promise<PasswordHasher> | undefined
  const ctx: Context = {
    users: new UserStore(db),
    sessions: new SessionStore(db),
    hasher: async () => await (hasher ??= PasswordHasher.create({ cost: config.bcryptCost, size: 1 }))
  }
  try {
    console.log(await run(command, ctx))
    return 0
  } catch (err) {
    if (err instanceof Refused || err instanceof DuplicateUserError) {
      console.error(err.message)
      return 1
    }
    throw err
  } finally {
    await Promise.allSettled([db.destroy(), hasher?.then(async (h) => { await h.close() })])
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  console.error(err instanceof Error ? `Error: ${err.message}` : err)
  process.exitCode = 1
})

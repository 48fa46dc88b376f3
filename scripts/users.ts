import { existsSync } from 'node:fs'
import { userInfo } from 'node:os'
import { AccountService, type Account, type Actor } from '../src/admin/accounts.js'
import { AuditLog } from '../src/audit/audit-log.js'
import { PasswordHasher } from '../src/auth/passwords.js'
import type { SessionService } from '../src/auth/sessions.js'
import type { Broker } from '../src/broker/broker.js'
import type { BrokerLog } from '../src/broker/log.js'
import { openBroker } from '../src/broker/open.js'
import { ConfigError, loadConfig, type Config } from '../src/config.js'
import { ApiError } from '../src/errors.js'
import { newInstanceId } from '../src/instance-id.js'
import { AuditStore } from '../src/store/audit.js'
import { openDb } from '../src/store/db.js'
import { SessionStore } from '../src/store/sessions.js'
import { UserStore } from '../src/store/users.js'
import { readNewPassword } from './lib/prompt.js'
import { parseCommand, USAGE, UsageError, type Command } from './lib/users-args.js'

/**
 * User management against the server's own database:
 *   npm run users -- add alice --role admin
 * Changes go through the same AccountService as the admin REST routes, so each
 * one is audited and session ends reach live sockets through the broker.
 * Exit codes: 0 done, 1 refused (unknown or duplicate user, bad password), 2 usage or configuration.
 */

/** What the command refused to do; exit 1. */
class Refused extends Error {
  override name = 'Refused'
}

function noSuchUser (name: string): Refused {
  return new Refused(`No user named "${name}"`)
}

/** Who the audit log names for a change made here: `cli:` and the OS user, which no account name can equal. */
function cliActor (): Actor {
  let osUser = 'unknown'
  try {
    osUser = userInfo().username
  } catch {
    // No passwd entry for this uid (as in some containers): the change is still audited, as cli:unknown.
  }
  return { username: `cli:${osUser}`, ip: 'local', userAgent: 'wsgate users CLI' }
}

async function newPassword (): Promise<string> {
  return await readNewPassword().catch((err: unknown) => {
    throw new Refused(err instanceof Error ? err.message : String(err))
  })
}

function table (accounts: readonly Account[]): string {
  const rows = [
    ['USERNAME', 'ROLES', 'DISABLED', 'CREATED'],
    ...accounts.map((u) => [u.username, u.roles.length > 0 ? u.roles.join(',') : '-', u.disabled ? 'yes' : 'no', u.createdAt])
  ]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? []
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

async function run (command: Exclude<Command, { name: 'help' }>, accounts: AccountService, actor: Actor): Promise<string> {
  switch (command.name) {
    case 'list': {
      const all = await accounts.list()
      return all.length === 0 ? 'No users.' : table(all)
    }
    case 'add': {
      // Refuse before asking for a password that would be thrown away.
      if (await accounts.find(command.user) !== undefined) throw new Refused(`User "${command.user}" already exists`)
      const account = await accounts.create(actor, { username: command.user, password: await newPassword(), roles: command.roles })
      return `Added user "${account.username}"${account.roles.length > 0 ? ` with roles ${account.roles.join(', ')}` : ''}`
    }
    case 'passwd': {
      if (await accounts.find(command.user) === undefined) throw noSuchUser(command.user)
      await accounts.resetPassword(actor, command.user, await newPassword())
      return `Changed the password of "${command.user}"`
    }
    case 'disable':
      await accounts.disable(actor, command.user)
      return `Disabled user "${command.user}"`
    case 'enable':
      await accounts.enable(actor, command.user)
      return `Enabled user "${command.user}"`
    case 'delete':
      await accounts.remove(actor, command.user)
      return `Deleted user "${command.user}"`
    case 'role': {
      const account = await accounts.find(command.user)
      if (account === undefined) throw noSuchUser(command.user)
      const has = account.roles.includes(command.role)
      if (command.action === 'add' && has) return `"${account.username}" already has role ${command.role}`
      if (command.action === 'remove' && !has) return `"${account.username}" does not have role ${command.role}`
      const roles = command.action === 'add' ? [...account.roles, command.role] : account.roles.filter((r) => r !== command.role)
      await accounts.setRoles(actor, account.username, roles)
      return command.action === 'add'
        ? `Granted role ${command.role} to "${account.username}"`
        : `Removed role ${command.role} from "${account.username}"`
    }
  }
}

function readConfig (): Config {
  // Same .env as the server; variables already in the environment win.
  if (existsSync('.env')) process.loadEnvFile?.('.env')
  return loadConfig(process.env)
}

/**
 * SessionService.revokeUser without the token service, which the CLI has no
 * use for: end the user's sessions, then tell every instance to close their sockets.
 */
function sessionEnder (store: SessionStore, broker: Broker): Pick<SessionService, 'revokeUser'> {
  return {
    revokeUser: async (username, reason) => {
      await store.revokeAllOf(username, reason)
      await broker.publish({ kind: 'revoke-user', username })
    }
  }
}

/** Audit-log trouble goes to stderr: the log holds only error messages and counts, never secrets. */
/** Trouble of the audit log or the broker, on stderr; routine info stays out of the CLI's output. */
function troubleLog (topic: string): BrokerLog {
  const print = (obj: object, msg: string): void => { console.error(`${topic}: ${msg} ${JSON.stringify(obj)}`) }
  return { info: () => {}, warn: print, error: print }
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

  const db = await openDb(config.databaseUrl, { poolSize: 1 })
  let broker: Broker | undefined
  let hasher: Promise<PasswordHasher> | undefined
  // Started only by the commands that hash, so that list and disable stay quick.
  const lazyHasher = { hash: async (password: string) => await (await (hasher ??= PasswordHasher.create({ cost: config.bcryptCost, size: 1 }))).hash(password) }
  const audit = new AuditLog(new AuditStore(db), { log: troubleLog('audit') })
  try {
    broker = await openBroker(config, newInstanceId(), troubleLog('broker'))
    const accounts = new AccountService(new UserStore(db), lazyHasher, sessionEnder(new SessionStore(db), broker), audit, broker)
    console.log(await run(command, accounts, cliActor()))
    return 0
  } catch (err) {
    if (err instanceof Refused || err instanceof ApiError) {
      console.error(err.message)
      return 1
    }
    throw err
  } finally {
    // The audit rows are written before the database closes; a write that fails is reported by the log itself.
    await audit.close()
    await Promise.allSettled([broker?.close(), hasher?.then(async (h) => { await h.close() })])
    await db.destroy()
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  console.error(err instanceof Error ? `Error: ${err.message}` : err)
  process.exitCode = 1
})

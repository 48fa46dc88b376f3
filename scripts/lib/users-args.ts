import { parseArgs } from 'node:util'

export const USAGE = `Usage: npm run users -- <command>

Commands:
  add <name> [--role <role>]...    create a user (--role may repeat)
  list                             show every user
  passwd <name>                    set a new password
  disable <name>                   refuse the user's logins
  enable <name>                    allow them again
  delete <name>                    remove the user
  role <name> add|remove <role>    grant or take away a role

Passwords are read from the first line of stdin when it is piped, otherwise
prompted for twice. DATABASE_URL and BCRYPT_COST come from the environment or
.env, as for the server.`

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'list' }
  | { readonly name: 'add', readonly user: string, readonly roles: readonly string[] }
  | { readonly name: 'passwd' | 'disable' | 'enable' | 'delete', readonly user: string }
  | { readonly name: 'role', readonly user: string, readonly action: 'add' | 'remove', readonly role: string }

/** Bad arguments: exit 2 with the usage text. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const USERNAME = /^[A-Za-z0-9_.@-]{1,128}$/
// Roles are stored comma-separated, so a comma in a role would split it in two.
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/

function username (value: string | undefined): string {
  if (value === undefined) throw new UsageError('Missing user name')
  if (!USERNAME.test(value)) throw new UsageError(`Invalid user name "${value}": use 1 to 128 of A-Z a-z 0-9 _ . @ -`)
  return value
}

function role (value: string | undefined): string {
  if (value === undefined) throw new UsageError('Missing role')
  if (!ROLE.test(value)) throw new UsageError(`Invalid role "${value}": use 1 to 64 of A-Z a-z 0-9 _ . : -`)
  return value
}

export function parseCommand (argv: readonly string[]): Command {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { role: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  const { values, positionals } = parsed
  if (values.help === true) return { name: 'help' }
  const [command, ...rest] = positionals
  const roles = values.role ?? []
  if (command === undefined) throw new UsageError('Missing command')
  if (roles.length > 0 && command !== 'add') throw new UsageError('--role only goes with add')
  const expect = (count: number): void => {
    if (rest.length > count) throw new UsageError(`Too many arguments for ${command}`)
  }
  switch (command) {
    case 'list':
      expect(0)
      return { name: 'list' }
    case 'add':
      expect(1)
      return { name: 'add', user: username(rest[0]), roles: roles.map(role) }
    case 'passwd':
    case 'disable':
    case 'enable':
    case 'delete':
      expect(1)
      return { name: command, user: username(rest[0]) }
    case 'role': {
      expect(3)
      const user = username(rest[0])
      const action = rest[1]
      if (action !== 'add' && action !== 'remove') throw new UsageError('role takes add or remove')
      return { name: 'role', user, action, role: role(rest[2]) }
    }
    default:
      throw new UsageError(`Unknown command "${command}"`)
  }
}

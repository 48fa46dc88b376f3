import type { FastifyBaseLogger } from 'fastify'
import type { UserStore } from './store/users.js'

/** The users CLI as the production image runs it (compiled) and as a source checkout does. */
export const ADD_ADMIN_COMMAND = 'node dist/scripts/users.js add <name> --role admin'
export const ADD_ADMIN_SOURCE_COMMAND = 'npm run users -- add <name> --role admin'

export const NO_USERS_HINT = `No users yet, so nobody can log in: add the first admin with \`${ADD_ADMIN_COMMAND}\` ` +
  `(it asks for the password, or reads it from stdin; with Docker Compose: \`docker compose exec app1 ${ADD_ADMIN_COMMAND}\`), ` +
  `or \`${ADD_ADMIN_SOURCE_COMMAND}\` from a source checkout. The server need not be restarted.`

/**
 * A production server starts over an empty user table (it never creates the
 * demo account), and then nobody can log in. Say so once at start, with the
 * command that fixes it, instead of leaving the operator to guess.
 */
export async function hintFirstUser (users: Pick<UserStore, 'count'>, log: FastifyBaseLogger): Promise<void> {
  if (await users.count() > 0) return
  log.warn({ command: ADD_ADMIN_COMMAND, sourceCommand: ADD_ADMIN_SOURCE_COMMAND }, NO_USERS_HINT)
}

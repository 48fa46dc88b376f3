import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import { DuplicateUserError, type UserStore } from '../store/users.js'
import type { PasswordHasher } from './passwords.js'

export const DEMO_USERNAME = 'user'
export const DEMO_PASSWORD = 'password'

/** A production start over a database that still holds the demo account with its password. */
export class DemoAccountError extends Error {
  override name = 'DemoAccountError'
}

export const DEMO_ACCOUNT_FIX = `Refusing to start in production: the demo account "${DEMO_USERNAME}" still has the well-known password "${DEMO_PASSWORD}" ` +
  `(this database was first used in development). Give it a real password with \`npm run users -- passwd ${DEMO_USERNAME}\`, ` +
  `or turn it off with \`npm run users -- disable ${DEMO_USERNAME}\` (or \`delete ${DEMO_USERNAME}\`), then start again.`

/**
 * Outside production an empty user table gets `user`/`password`, so that the
 * README's curl and websocat lines work on first start. In production the
 * account is never created, and a database that still has it enabled with
 * that password stops the start: otherwise production would issue tokens to
 * anyone who read the README.
 */
export async function ensureDemoUser (config: Config, users: UserStore, passwords: PasswordHasher, log: FastifyBaseLogger): Promise<void> {
  if (config.isProduction) {
    const demo = await users.findByUsername(DEMO_USERNAME)
    if (demo !== undefined && !demo.disabled && await passwords.verify(DEMO_PASSWORD, demo.passwordHash)) {
      log.fatal({ username: DEMO_USERNAME }, DEMO_ACCOUNT_FIX)
      throw new DemoAccountError(DEMO_ACCOUNT_FIX)
    }
    return
  }
  if (await users.count() > 0) return
  try {
    await users.create({ username: DEMO_USERNAME, passwordHash: await passwords.hash(DEMO_PASSWORD) })
  } catch (err) {
    // Another instance starting on the same empty database made it first.
    if (err instanceof DuplicateUserError) return
    throw err
  }
  log.warn({ username: DEMO_USERNAME }, 'created the demo account with the well-known password "password"; a production start refuses it until it is changed or disabled')
}

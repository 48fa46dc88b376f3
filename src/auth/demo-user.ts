import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { UserStore } from '../store/users.js'
import type { PasswordHasher } from './passwords.js'

export const DEMO_USERNAME = 'user'
export const DEMO_PASSWORD = 'password'

/**
 * Outside production an empty user table gets `user`/`password`, so that the
 * README's curl and websocat lines work on first start.
 */
export async function ensureDemoUser (config: Config, users: UserStore, passwords: PasswordHasher, log: FastifyBaseLogger): Promise<void> {
  if (config.isProduction || await users.count() > 0) return
  await users.create({ username: DEMO_USERNAME, passwordHash: await passwords.hash(DEMO_PASSWORD) })
  log.warn({ username: DEMO_USERNAME }, 'created the demo user with the well-known password "password"; never use it in production')
}

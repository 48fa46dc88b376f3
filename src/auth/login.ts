import type { PasswordHasher } from './passwords.js'
import type { User, UserStore } from '../store/users.js'

/** bcrypt reads 72 bytes; the endpoint refuses more rather than hash a megabyte. */
export const MAX_LOGIN_PASSWORD_BYTES = 72

/**
 * The password grant's check. Unknown and disabled users cost the same
 * bcrypt time as a wrong password so that timing does not tell them apart.
 */
export async function checkPassword (users: UserStore, passwords: PasswordHasher, username: string, password: string): Promise<User | undefined> {
  const user = await users.findByUsername(username)
  if (user === undefined || user.disabled) {
    await passwords.verifyUnknownUser(password)
    return undefined
  }
  return await passwords.verify(password, user.passwordHash) ? user : undefined
}

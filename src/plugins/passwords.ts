import fp from 'fastify-plugin'
import { PasswordHasher } from '../auth/passwords.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: PasswordHasher
  }
}

export interface PasswordsPluginOptions {
  readonly cost: number
  /** Worker threads; defaults to the number of cores. */
  readonly size?: number
  /** The threads' nice value; defaults to 19. */
  readonly nice?: number
}

/** The bcrypt worker pool, started with the app and terminated with it. */
export default fp<PasswordsPluginOptions>(async (fastify, { cost, size, nice }) => {
  const passwords = await PasswordHasher.create({ cost, size, nice })
  fastify.decorate('passwords', passwords)
  fastify.addHook('onClose', async () => {
    await passwords.close()
  })
}, { name: 'wsgate-passwords' })

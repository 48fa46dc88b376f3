import fp from 'fastify-plugin'
import { redactUrl } from '../config.js'
import { engineOf, openDb, type Db } from '../store/db.js'
import { IdentityStore } from '../store/identity.js'
import { SessionStore } from '../store/sessions.js'
import { UserStore } from '../store/users.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    users: UserStore
    sessionStore: SessionStore
    identities: IdentityStore
  }
}

export interface DbPluginOptions {
  readonly databaseUrl: string
  /** Postgres connections at most; by default the app config's DATABASE_POOL_SIZE. */
  readonly poolSize?: number
}

/** The database named by DATABASE_URL, migrated on open, closed with the app. */
export default fp<DbPluginOptions>(async (fastify, { databaseUrl, poolSize }) => {
  const db = await openDb(databaseUrl, {
    poolSize: poolSize ?? fastify.config.databasePoolSize,
    onIdleError: (err) => { fastify.log.warn({ err, database: redactUrl(databaseUrl) }, 'an idle database connection failed; the pool replaces it') }
  })
  fastify.log.info({ engine: engineOf(databaseUrl), database: redactUrl(databaseUrl) }, 'database open and migrated')
  fastify.decorate('db', db)
  fastify.decorate('users', new UserStore(db))
  fastify.decorate('sessionStore', new SessionStore(db))
  fastify.decorate('identities', new IdentityStore(db))
  fastify.addHook('onClose', async () => {
    await db.destroy()
  })
}, { name: 'wsgate-db' })

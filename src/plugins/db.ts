import fp from 'fastify-plugin'
import { openDb, type Db } from '../store/db.js'
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

/** The database named by DATABASE_URL, migrated on open, closed with the app. */
export default fp<{ databaseUrl: string }>(async (fastify, { databaseUrl }) => {
  const db = await openDb(databaseUrl)
  fastify.decorate('db', db)
  fastify.decorate('users', new UserStore(db))
  fastify.decorate('sessionStore', new SessionStore(db))
  fastify.decorate('identities', new IdentityStore(db))
  fastify.addHook('onClose', async () => {
    await db.destroy()
  })
}, { name: 'wsgate-db' })

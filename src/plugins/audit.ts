import fp from 'fastify-plugin'
import { AuditLog } from '../audit/audit-log.js'
import { AuditQuery } from '../audit/query.js'
import { AuditStore } from '../store/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The same object as `audit`, with flush and stats for shutdown, tests and ops. */
    auditLog: AuditLog
    auditQuery: AuditQuery
  }
}

export interface AuditPluginOptions {
  readonly flushIntervalMs?: number
  readonly batchSize?: number
  readonly maxBuffer?: number
}

/**
 * The audit log over the database. Registered after the db plugin so that its
 * onClose (hooks run in reverse order) writes the last batch before the
 * connection is destroyed.
 */
export default fp<AuditPluginOptions>(async (fastify, options) => {
  const store = new AuditStore(fastify.db)
  const log = new AuditLog(store, { ...options, log: fastify.log.child({ component: 'audit' }) })
  fastify.decorate('audit', log)
  fastify.decorate('auditLog', log)
  fastify.decorate('auditQuery', new AuditQuery(store))
  fastify.addHook('onClose', async () => {
    await log.close()
  })
}, { name: 'wsgate-audit', dependencies: ['wsgate-db'] })

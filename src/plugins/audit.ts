import fp from 'fastify-plugin'
import { AuditLog } from '../audit/audit-log.js'
import type { AuditEvent, AuditSink } from '../audit/events.js'
import { AuditQuery } from '../audit/query.js'
import { AuditStore } from '../store/audit.js'

/** Sees every event recorded through `audit`, after it is queued for writing; must not throw. */
export type AuditObserver = (event: AuditEvent) => void

declare module 'fastify' {
  interface FastifyInstance {
    /** The log behind `audit`, with flush and stats for shutdown, tests and ops. */
    auditLog: AuditLog
    auditQuery: AuditQuery
    /** Adds an observer of every audit event (metrics count auth outcomes this way). */
    observeAudit: (observer: AuditObserver) => void
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
 * connection is destroyed. `audit` also tells the observers: every auth
 * attempt already passes through here, so counting them needs no change in
 * the code that makes them.
 */
export default fp<AuditPluginOptions>(async (fastify, options) => {
  const store = new AuditStore(fastify.db)
  const log = new AuditLog(store, { ...options, log: fastify.log.child({ component: 'audit' }) })
  const observers: AuditObserver[] = []
  const sink: AuditSink = {
    record (event) {
      log.record(event)
      for (const observe of observers) observe(event)
    }
  }
  fastify.decorate('audit', sink)
  fastify.decorate('auditLog', log)
  fastify.decorate('auditQuery', new AuditQuery(store))
  fastify.decorate('observeAudit', (observer: AuditObserver) => { observers.push(observer) })
  fastify.addHook('onClose', async () => {
    await log.close()
  })
}, { name: 'wsgate-audit', dependencies: ['wsgate-db'] })

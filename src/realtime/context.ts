import type { FastifyBaseLogger } from 'fastify'
import type { Authenticator } from '../auth/authenticator.js'
import type { Config } from '../config.js'
import type { Broker } from './broker.js'
import type { Hub } from './hub.js'

/** What every connection shares; built once per app, not per socket. */
export interface RealtimeContext {
  readonly hub: Hub
  readonly broker: Broker
  readonly authenticator: Authenticator
  readonly config: Config
  readonly log: FastifyBaseLogger
}

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'

/** Names this process in stats, metrics and broker envelopes: unique even for two processes on one host. */
export function newInstanceId (): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}

/**
 * The slice of a pino logger the broker and the Redis counters use, so that
 * Fastify's logger fits and this layer imports nothing above it.
 */
export interface BrokerLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** The message of anything thrown, for a log line. */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

import type { Redis } from 'ioredis'

export type ScriptArg = string | number

/** Runs a script with its keys (all under the caller's prefix) and arguments. */
export type RunScript = (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>

/**
 * Registers `lua` on `redis` with ioredis's defineCommand (EVALSHA, loading
 * the script on NOSCRIPT) and returns a typed way to call it: ioredis types
 * defined commands only through global module augmentation, so the one cast
 * lives here.
 */
export function defineScript (redis: Redis, name: string, lua: string): RunScript {
  redis.defineCommand(name, { lua })
  const commands = redis as unknown as Record<string, (numKeys: number, ...rest: ScriptArg[]) => Promise<unknown>>
  const command = commands[name]
  if (command === undefined) throw new Error(`ioredis did not define ${name}`)
  return async (keys, args) => await command.call(redis, keys.length, ...keys, ...args)
}

/** A script's reply as numbers (Lua numbers come back as integers). */
export function numbers (reply: unknown, count: number): number[] {
  if (!Array.isArray(reply) || reply.length !== count) throw new Error(`unexpected script reply: ${JSON.stringify(reply)}`)
  return reply.map((value) => Number(value))
}

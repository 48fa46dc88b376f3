import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { TestContext } from './helper.js'

/**
 * The machine's shared services, as tests use them: each test gets a fresh
 * Postgres database (dropped when it ends) and its own Redis key prefix, so
 * runs never see each other's data. A missing service fails the test.
 */
export const POSTGRES_ADMIN_URL = process.env.WSGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_TEST_URL = process.env.WSGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A database URL on a brand-new, empty Postgres database; dropped at teardown. */
export async function freshPostgres (t: TestContext): Promise<string> {
  const name = `wsgate_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
    await dropper.connect()
    try {
      // WITH (FORCE) ends sessions a crashed child may have left behind.
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await dropper.end()
    }
  })
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A Redis key prefix no other test or run uses. */
export function redisPrefix (): string {
  return `wsgate-test:${randomBytes(6).toString('hex')}:`
}

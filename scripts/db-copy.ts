import { parseArgs } from 'node:util'
import { redactUrl } from '../src/config.js'
import { engineOf, openDb, type Db } from '../src/store/db.js'
import { copiedNothing, copyDatabase, TargetNotEmptyError, type CopySummary, type TableCopy } from '../src/store/copy.js'

/**
 * Copies one wsgate database into another, for a deployment that outgrows SQLite:
 *   npm run db:copy -- --from sqlite:./data/wsgate.db --to postgres://…
 * Exit codes: 0 copied (or nothing to copy), 1 refused or failed, 2 usage.
 * docs/STORAGE.md has the whole procedure.
 */

const USAGE = `Usage: npm run db:copy -- --from <DATABASE_URL> --to <DATABASE_URL> [--force]

Copies users, live sessions with their refresh tokens, and the audit log,
keeping ids and hashes, so that logged-in clients keep their refresh tokens.
Either URL may be sqlite:<file> or postgres://…; both are migrated first.
Stop every server on the source first.

A target that already holds rows is refused, unless it already has every row
of the source (then nothing is done). --force copies into it anyway: rows the
target lacks are added, and every row it has (same user name, session id,
refresh token or audit id) is kept as it is, never overwritten.`

class UsageError extends Error {
  override name = 'UsageError'
}

interface Args {
  readonly from: string
  readonly to: string
  readonly force: boolean
}

function databaseUrl (value: string | undefined, flag: string): string {
  if (value === undefined) throw new UsageError(`Missing ${flag}`)
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(value)) throw new UsageError(`${flag} must start with sqlite: or postgres:// (got "${redactUrl(value)}")`)
  return value
}

function parse (argv: readonly string[]): Args | 'help' {
  let values
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true
    }))
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  if (values.help === true) return 'help'
  const args = { from: databaseUrl(values.from, '--from'), to: databaseUrl(values.to, '--to'), force: values.force === true }
  if (args.from === args.to) throw new UsageError('--from and --to name the same database')
  return args
}

function line (name: string, table: TableCopy): string {
  return `  ${name.padEnd(15)} ${String(table.copied).padStart(7)} copied  ${String(table.skipped).padStart(7)} already there`
}

function report (summary: CopySummary): string {
  return [
    line('users', summary.users),
    line('sessions', summary.sessions),
    line('refresh tokens', summary.refreshTokens),
    line('audit rows', summary.auditRows)
  ].join('\n')
}

async function main (argv: readonly string[]): Promise<number> {
  let args
  try {
    args = parse(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`)
      return 2
    }
    throw err
  }
  if (args === 'help') {
    console.log(USAGE)
    return 0
  }

  const opened: Db[] = []
  try {
    const from = await openDb(args.from, { poolSize: 2 })
    opened.push(from)
    const to = await openDb(args.to, { poolSize: 2 })
    opened.push(to)
    console.log(`Copying ${redactUrl(args.from)} → ${redactUrl(args.to)}`)
    const summary = await copyDatabase(from, to, { force: args.force, targetEngine: engineOf(args.to) })
    console.log(report(summary))
    console.log(copiedNothing(summary) ? 'Nothing to copy: the target already has every row.' : 'Done.')
    return 0
  } catch (err) {
    if (err instanceof TargetNotEmptyError) {
      console.error(`${report(err.summary)}\nRefused, nothing was written: the target already holds data and lacks some of these rows ("copied" is what would be added).\n` +
        'Copy into an empty database, or pass --force to add the missing rows and keep every row the target has.')
      return 1
    }
    // Driver errors can quote the URL they were given; the password stays out of the output.
    console.error(`Copy failed, no rows were written to the target: ${redactUrl(err instanceof Error ? err.message : String(err))}`)
    return 1
  } finally {
    await Promise.allSettled(opened.map(async (db) => { await db.destroy() }))
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  console.error(err instanceof Error ? `Error: ${err.message}` : err)
  process.exitCode = 1
})

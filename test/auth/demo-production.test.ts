import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { parseCommand } from '../../scripts/lib/users-args.js'
import { DEMO_ACCOUNT_FIX } from '../../src/auth/demo-user.js'
import { ROOT } from '../cli.js'
import { build, tempDir, testEnv, type Built } from '../helper.js'

const PRODUCTION = { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }

/** A data folder whose database was first used in development: it holds the demo account. */
async function developmentDatabase (t: Test): Promise<{ dir: string, dev: Built }> {
  const dir = tempDir(t)
  const dev = await build(t, {}, { dir })
  t.ok(await dev.app.users.findByUsername('user'), 'development created the demo account')
  return { dir, dev }
}

async function login (built: Built, password: string): Promise<number> {
  const res = await built.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password } })
  return res.statusCode
}

t.test('production refuses to start over a database that still has user/password, naming the fix', async (t) => {
  const { dir, dev } = await developmentDatabase(t)
  await dev.app.close()
  await t.rejects(build(t, PRODUCTION, { dir }), { name: 'DemoAccountError', message: /npm run users -- passwd user/ })
  t.match(DEMO_ACCOUNT_FIX, 'npm run users -- disable user', 'and the other way out')
  // The commands it names are the users CLI's real syntax.
  for (const words of ['passwd user', 'disable user', 'delete user']) {
    const quoted = `npm run users -- ${words}`
    t.ok(DEMO_ACCOUNT_FIX.includes(words), `names "${quoted}"`)
    t.match(parseCommand(words.split(' ')), { name: words.split(' ')[0], user: 'user' }, `"${quoted}" parses`)
  }
})

t.test('the server process exits instead of serving, and says why', async (t) => {
  const { dir, dev } = await developmentDatabase(t)
  await dev.app.close()
  const env = { ...process.env, ...testEnv(dir, PRODUCTION), HOST: '127.0.0.1', PORT: '0' }
  const child = spawn(process.execPath, ['--import=tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the server did not exit: ${output}`)) }, 30_000)
    child.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode) })
  })
  t.not(code, 0, `exit code ${String(code)}`)
  t.match(output, 'npm run users -- passwd user', 'the output names the command that fixes it')
  t.notMatch(output, '"msg":"Server listening', 'it never listened')
})

t.test('after passwd, production starts; user/password gets 401 and the new password works', async (t) => {
  const { dir, dev } = await developmentDatabase(t)
  await t.rejects(build(t, PRODUCTION, { dir }), { name: 'DemoAccountError' }, 'refused while the password is the default')
  // What `npm run users -- passwd user` does to the row.
  await dev.app.users.setPasswordHash('user', await dev.app.passwords.hash('a-real-password-now'))
  await dev.app.close()
  const prod = await build(t, PRODUCTION, { dir })
  t.equal(await login(prod, 'password'), 401)
  t.equal(await login(prod, 'a-real-password-now'), 200)
})

t.test('after disable, production starts and the demo account cannot log in', async (t) => {
  const { dir, dev } = await developmentDatabase(t)
  await t.rejects(build(t, PRODUCTION, { dir }), { name: 'DemoAccountError' }, 'refused while it is enabled')
  await dev.app.users.setDisabled('user', true)
  await dev.app.close()
  const prod = await build(t, PRODUCTION, { dir })
  t.equal(await login(prod, 'password'), 401)
})

t.test('a demo account that appears while production runs is still refused; development still accepts it', async (t) => {
  const prod = await build(t, PRODUCTION)
  await prod.app.users.create({ username: 'user', passwordHash: await prod.app.passwords.hash('password') })
  const calls = prod.app.passwords.calls
  const res = await prod.app.inject({ method: 'POST', url: '/token', payload: { username: 'user', password: 'password' } })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { error: 'invalid_grant' })
  t.equal(prod.app.passwords.calls, calls, 'refused without bcrypt')
  t.match(prod.logs(), 'well-known password was refused', 'and logged as such')
  const dev = await build(t)
  t.equal(await login(dev, 'password'), 200, 'outside production the README\'s login works')
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A temp folder removed when the test ends. The same as test/helper.ts's
 * tempDir, without importing the app that file builds: a test that only
 * starts children need not load (and pay for) the server in its own process.
 */
export function scratchDir (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgate-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

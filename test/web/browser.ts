import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { TestContext } from '../helper.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const ARTIFACTS = join(ROOT, 'test', 'artifacts')
export const CHROMIUM = '/usr/bin/chromium'

/** Why the browser tests cannot run, or undefined when they can. */
export function chromiumMissing (): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  return `${CHROMIUM} not found: the page tests need Debian's Chromium. Install it with \`apt-get install -y chromium\` (as root; \`apt-get update\` first on a fresh image).`
}

/** Runs scripts/build-web.mjs, as `npm run build` does, so the pages under test are the current sources. */
export async function buildPages (): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => { child.on('close', resolve) })
  if (code !== 0) throw new Error(`node scripts/build-web.mjs exited with ${String(code)}:\n${output}`)
}

export async function launch (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
}

/**
 * One browser for a file's tests: launched before the first, closed at the
 * end. Undefined, and the file failed with the reason, when Chromium is
 * missing: a page test never passes by not running.
 */
export function sharedBrowser (t: { before: (fn: () => Promise<void>) => void, teardown: (fn: () => Promise<void>) => void, fail: (message: string) => void }): { current: Browser } | undefined {
  const missing = chromiumMissing()
  if (missing !== undefined) {
    console.error(missing)
    t.fail(missing)
    return undefined
  }
  const shared: { current?: Browser } = {}
  t.before(async () => { shared.current = await launch() })
  t.teardown(async () => { await shared.current?.close() })
  return shared as { current: Browser }
}

export interface WatchedPage {
  page: Page
  /** Uncaught exceptions and console errors, CSP violations among them. */
  errors: string[]
  screenshot (name: string): Promise<void>
  /** Waits until the element's trimmed text matches. */
  waitForText (selector: string, expected: string | RegExp, timeoutMs?: number): Promise<string>
}

/** A page in a context of its own, closed when the test ends (a page left open keeps polling and reconnecting). */
export async function openPage (t: TestContext, browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => { errors.push(`pageerror: ${err.message}`) })
  page.on('console', (message) => { if (message.type() === 'error') errors.push(`console: ${message.text()}`) })
  return {
    page,
    errors,
    screenshot: async (name) => {
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true })
    },
    waitForText: async (selector, expected, timeoutMs = 5000) => {
      const pattern = typeof expected === 'string' ? `^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : expected.source
      const flags = typeof expected === 'string' ? '' : expected.flags
      try {
        await page.waitForFunction(([sel, source, fl]) => {
          const text = document.querySelector(sel ?? '')?.textContent?.trim() ?? ''
          return new RegExp(source ?? '', fl).test(text)
        }, [selector, pattern, flags], { timeout: timeoutMs })
      } catch (err) {
        const actual = await page.locator(selector).first().textContent({ timeout: 500 }).catch(() => '(no element)')
        throw new Error(`${selector} never matched ${String(expected)}; it shows ${JSON.stringify(actual)}`, { cause: err })
      }
      return (await page.locator(selector).first().textContent())?.trim() ?? ''
    }
  }
}

import { createHash, timingSafeEqual } from 'node:crypto'

/** Compares a presented secret (PIN, metrics token) in constant time whatever the lengths: digests are always 32 bytes. */
export function sameSecret (given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/** Messages between the pool in passwords.ts and password-worker.mjs. */

export type PasswordJob =
  | { readonly id: number, readonly op: 'hash', readonly password: string, readonly cost: number }
  | { readonly id: number, readonly op: 'compare', readonly password: string, readonly hash: string }

export type PasswordReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result', readonly id: number, readonly value: string | boolean }
  | { readonly type: 'error', readonly id: number, readonly message: string }

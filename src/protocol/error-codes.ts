/** Codes carried by `{"type":"error","code":…}` frames; the socket stays open. */
export const ErrorCode = {
  invalidJson: 'invalid_json',
  invalidMessage: 'invalid_message',
  unsupportedType: 'unsupported_type',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
  invalidToken: 'invalid_token',
  tooManySubscriptions: 'too_many_subscriptions'
} as const

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

import { Type } from 'typebox'

/**
 * Fields are optional here so that a missing one is reported by the handler
 * as `invalid_request` in OAuth terms; types are strict so that a field sent
 * twice (an array) or as an object is refused before it reaches bcrypt.
 */
export const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.String({ maxLength: 64 })),
  username: Type.Optional(Type.String({ maxLength: 128 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  refresh_token: Type.Optional(Type.String({ maxLength: 512 })),
  scope: Type.Optional(Type.String({ maxLength: 512 }))
})

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String())
})

export const TestTokenResponse = Type.Object({
  test_token: Type.String(),
  note: Type.String()
})

export const MeResponse = Type.Object({
  username: Type.String(),
  roles: Type.Array(Type.String())
})

export const RevokeRequest = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 16384 })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 }))
})

export const RevokeResponse = Type.Object({})

import { Type, type Static } from 'typebox'

/** RFC 6749 §5.2 error body, plus `detail` for clients written against FastAPI. */
export const ErrorBody = Type.Object({
  error: Type.String(),
  error_description: Type.String(),
  detail: Type.String()
}, { $id: 'ErrorBody' })

export type ErrorBodyType = Static<typeof ErrorBody>

/** The error responses a Bearer-protected route can give. */
export const bearerErrors = {
  401: ErrorBody
} as const

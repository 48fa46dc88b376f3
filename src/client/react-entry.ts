/**
 * `wsgate/react`: the hooks bound to the app's own React (a peer
 * dependency, so there is one copy of React and its hook state). The
 * factories stay exported for a React that is not the `react` package
 * (Preact's compat layer, a test renderer).
 */
import { useEffect, useRef, useState } from 'react'
import { createUseChannel, createUseWsgate, type ReactHooks } from './react.js'

const hooks: ReactHooks = { useEffect, useRef, useState }

/** `const { status, messages, send, client } = useWsgate({ url, getToken })` */
export const useWsgate = createUseWsgate(hooks)
/** `const { messages, state } = useChannel(client, 'chat:lobby')` */
export const useChannel = createUseChannel(hooks)

export {
  createUseChannel, createUseWsgate,
  type ReactHooks, type UseChannelOptions, type UseChannelResult, type UseWsgateOptions, type UseWsgateResult
} from './react.js'

import t from 'tap'
import { createUseWsgate, type ReactHooks, type UseWsgateOptions, type UseWsgateResult } from '../../src/client/react.js'
import { build, waitFor } from '../helper.js'
import { Recorder } from './recorder.js'

/**
 * Just enough of React to run one hook: state slots by call order, effects
 * re-run when their deps change, cleanups on change and unmount.
 */
function renderHook (props: UseWsgateOptions): { result: () => UseWsgateResult, rerender: (next: UseWsgateOptions) => void, unmount: () => void } {
  const slots: unknown[] = []
  const effects: Array<{ deps: readonly unknown[] | undefined, cleanup: (() => void) | undefined }> = []
  let cursor = 0
  let effectCursor = 0
  let queued: Array<() => void> = []
  let current = props
  let result: UseWsgateResult | undefined
  let scheduled = false
  let mounted = true
  const react: ReactHooks = {
    useState: <S>(initial: S) => {
      const index = cursor++
      if (!(index in slots)) slots[index] = initial
      const set = (next: S | ((previous: S) => S)): void => {
        slots[index] = typeof next === 'function' ? (next as (previous: S) => S)(slots[index] as S) : next
        // Batched like React: one re-render after the current task, never from inside an effect.
        if (!scheduled) {
          scheduled = true
          queueMicrotask(() => { scheduled = false; if (mounted) render() })
        }
      }
      return [slots[index] as S, set]
    },
    useRef: <T>(initial: T) => {
      const index = cursor++
      if (!(index in slots)) slots[index] = { current: initial }
      return slots[index] as { current: T }
    },
    useEffect: (effect, deps) => {
      const index = effectCursor++
      const previous = effects[index]
      const changed = previous === undefined || deps === undefined || deps.some((d, i) => !Object.is(d, previous.deps?.[i]))
      if (!changed) return
      queued.push(() => {
        previous?.cleanup?.()
        const entry: { deps: readonly unknown[] | undefined, cleanup: (() => void) | undefined } = { deps, cleanup: undefined }
        effects[index] = entry
        const cleanup = effect()
        entry.cleanup = typeof cleanup === 'function' ? cleanup : undefined
      })
    }
  }
  const useWsgate = createUseWsgate(react)
  function render (): void {
    cursor = 0
    effectCursor = 0
    result = useWsgate(current)
    const run = queued
    queued = []
    for (const effect of run) effect()
  }
  render()
  return {
    result: () => { if (result === undefined) throw new Error('not rendered'); return result },
    rerender: (next) => { current = next; render() },
    unmount: () => {
      for (const effect of effects) effect?.cleanup?.()
      mounted = false
    }
  }
}

t.test('useWsgate connects, collects messages, sends, and closes on unmount', async (t) => {
  const built = await build(t)
  const { access_token: token } = await built.login()
  const { WebSocket } = new Recorder().options
  const hook = renderHook({ url: `${built.wsUrl}/ws`, token, WebSocket, maxMessages: 2 })
  t.teardown(() => { hook.unmount() })
  await waitFor(() => hook.result().status === 'open', 3000, 'open')
  t.ok(hook.result().send({ type: 'test', n: 1 }))
  t.ok(hook.result().send({ type: 'test', n: 2 }))
  await waitFor(() => hook.result().messages.some((m) => m.n === 2), 3000, 'echo')
  t.same(hook.result().messages.map((m) => m.n), [1, 2], 'capped at maxMessages: connection_established was dropped')
  // A re-render with a fresh options object must not reconnect.
  hook.rerender({ url: `${built.wsUrl}/ws`, token, WebSocket, maxMessages: 2 })
  t.equal(hook.result().status, 'open')
  t.equal(built.app.hub.connectionsOf('user'), 1, 'one socket across the renders')
  hook.unmount()
  await waitFor(() => built.app.hub.connectionsOf('user') === 0, 3000, 'the socket closed')
  t.equal(hook.result().send({ type: 'test' }), false, 'send after unmount reports false')
})

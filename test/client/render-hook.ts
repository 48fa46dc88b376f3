import { createUseWsgate, type ReactHooks, type UseWsgateOptions, type UseWsgateResult } from '../../src/client/react.js'

export interface Rendered<P, R> {
  result: () => R
  rerender: (next: P) => void
  unmount: () => void
}

export type RenderedHook = Rendered<UseWsgateOptions, UseWsgateResult>

/** useWsgate, rendered with the stand-in React below. */
export function renderHook (props: UseWsgateOptions): RenderedHook {
  return renderWith(createUseWsgate, props)
}

/**
 * Just enough of React to run one hook: state slots by call order, effects
 * re-run when their deps change, cleanups on change and unmount. `create`
 * is one of the SDK's hook factories; the hook takes one props value.
 */
export function renderWith<P, R> (create: (react: ReactHooks) => (props: P) => R, props: P): Rendered<P, R> {
  const slots: unknown[] = []
  const effects: Array<{ deps: readonly unknown[] | undefined, cleanup: (() => void) | undefined }> = []
  let cursor = 0
  let effectCursor = 0
  let queued: Array<() => void> = []
  let current = props
  let result: R | undefined
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
  const hook = create(react)
  function render (): void {
    cursor = 0
    effectCursor = 0
    result = hook(current)
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

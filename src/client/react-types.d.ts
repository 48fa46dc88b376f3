/**
 * The three hooks wsgate/react takes from React, typed for this repo's own
 * compile: @types/react is not installed here (the React at the top level
 * of node_modules is the one tap's reporter pins, without its types). The
 * emitted declarations never mention React, so an app needs no @types/react
 * for them either. Delete this file once @types/react is a dev dependency.
 */
declare module 'react' {
  export function useState<S> (initial: S): [S, (next: S | ((previous: S) => S)) => void]
  export function useEffect (effect: () => void | (() => void), deps?: readonly unknown[]): void
  export function useRef<T> (initial: T): { current: T }
}

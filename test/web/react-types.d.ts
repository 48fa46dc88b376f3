/**
 * The slice of React and react-dom the hook's browser test renders with.
 * @types/react is not installed here; src/client/react-types.d.ts declares
 * the hooks, this adds what an app needs to mount a component.
 */
declare module 'react' {
  export const version: string
  export interface ReactElement { type: unknown, props: unknown }
  export function createElement<P extends object> (type: string | ((props: P) => ReactElement), props: P | null, ...children: unknown[]): ReactElement
  export const StrictMode: (props: object) => ReactElement
}

declare module 'react-dom/client' {
  export interface Root {
    render (element: import('react').ReactElement): void
    unmount (): void
  }
  export function createRoot (container: Element): Root
}

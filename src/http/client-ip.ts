import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { TrustProxy } from '../config.js'

type TrustFunction = (address: string, hop: number) => boolean

/** Fastify's `trustProxy` option for TRUST_PROXY. Its types lack the hop-count form, so a count becomes the function it stands for. */
export function trustProxyOption (value: TrustProxy): boolean | string[] | TrustFunction {
  if (typeof value === 'number') return (_address, hop) => hop < value
  return typeof value === 'boolean' ? value : [...value]
}

/**
 * The client address of a raw request, computed as Fastify computes
 * `request.ip` for the same TRUST_PROXY: the socket's peer when no proxy is
 * trusted, otherwise the last address of `@fastify/proxy-addr`'s walk down
 * X-Forwarded-For that stops at the first untrusted hop. Upgrades handled
 * outside Fastify's lifecycle use it, so that their logs, audit rows and
 * per-IP caps name the same client an HTTP request from there would.
 */
export function clientIpOf (value: TrustProxy): (request: IncomingMessage) => string {
  const option = trustProxyOption(value)
  if (option === false) return (request) => request.socket.remoteAddress ?? ''
  const trust: TrustFunction = option === true ? () => true : typeof option === 'function' ? option : proxyAddr.compile(option)
  return (request) => {
    const addresses = proxyAddr.all(request, trust)
    return addresses[addresses.length - 1] ?? ''
  }
}

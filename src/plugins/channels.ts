import fp from 'fastify-plugin'
import { ChannelPolicy } from '../channels/policy.js'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Who may subscribe to and publish in each channel: the built-in namespaces and CHANNELS_FILE's. */
    channelPolicy: ChannelPolicy
  }
}

/**
 * Reads and checks CHANNELS_FILE once, at start: a bad file throws
 * ChannelsFileError and the start fails with its one-line message, so a
 * typo never turns into a namespace that silently refuses everyone.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const policy = ChannelPolicy.load(config.channelsFile)
  fastify.decorate('channelPolicy', policy)
  if (config.channelsFile !== undefined) {
    fastify.log.info({ channelsFile: config.channelsFile, namespaces: policy.configured() }, 'channel namespaces loaded')
  }
}, { name: 'wsgate-channels' })

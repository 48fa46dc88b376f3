import type { ChannelHandlers, ChannelMember, ChannelRemoval, ChannelState, Scheduler, ServerMessage } from '../../src/client/index.js'

/** Channel handlers that keep everything they are told, for a test to wait on and inspect. */
export class ChannelEvents implements ChannelHandlers {
  readonly messages: ServerMessage[] = []
  readonly subscribed: ChannelState[] = []
  readonly recoveryFailed: ChannelState[] = []
  readonly removed: ChannelRemoval[] = []
  readonly joins: ChannelMember[] = []
  readonly leaves: ChannelMember[] = []

  onMessage = (message: ServerMessage): void => { this.messages.push(message) }
  onSubscribed = (state: ChannelState): void => { this.subscribed.push(state) }
  onRecoveryFailed = (state: ChannelState): void => { this.recoveryFailed.push(state) }
  onUnsubscribed = (removal: ChannelRemoval): void => { this.removed.push(removal) }
  onJoin = (member: ChannelMember): void => { this.joins.push(member) }
  onLeave = (member: ChannelMember): void => { this.leaves.push(member) }

  /** The `text` of each message, in the order the app got them. */
  texts (): unknown[] {
    return this.messages.map((m) => m.text)
  }

  offsets (): unknown[] {
    return this.messages.map((m) => m.offset)
  }
}

/**
 * A scheduler that runs nothing until told: holds a client's reconnect so
 * that a test can publish while the client is certainly away.
 */
export class HeldScheduler {
  private tasks: Array<{ task: () => void, live: boolean }> = []

  readonly schedule: Scheduler = (task) => {
    const entry = { task, live: true }
    this.tasks.push(entry)
    return () => { entry.live = false }
  }

  get waiting (): number {
    return this.tasks.filter((e) => e.live).length
  }

  release (): void {
    const run = this.tasks
    this.tasks = []
    for (const entry of run) if (entry.live) entry.task()
  }
}

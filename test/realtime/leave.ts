import type { Hub } from '../../src/realtime/hub.js'
import { waitFor } from '../helper.js'
import { closedWithin, type TestSocket } from '../ws-client.js'

/**
 * Closes the sockets and waits until the server has let every one of them
 * go, so that the next test on a shared app starts with an empty hub.
 */
export async function leave (hub: Hub, ...sockets: TestSocket[]): Promise<void> {
  for (const socket of sockets) socket.close()
  for (const socket of sockets) await closedWithin(socket)
  await waitFor(() => hub.size === 0, 2000, 'hub empty again')
}

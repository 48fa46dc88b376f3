import t from 'tap'
import { hostileSuite } from './hostile.js'
import { limitsSuite } from './limits.js'
import { protocolSuite } from './ws-protocol.js'
import { tokenSuite } from './ws-tokens.js'

// The /ws suites share one process: each test file pays the start-up of tsx,
// tap and the app's modules. Each suite builds its own app, closed when the suite ends.
t.test('protocol', async (t) => { await protocolSuite(t) })
t.test('hostile tokens', async (t) => { await tokenSuite(t) })
t.test('hostile clients', async (t) => { await hostileSuite(t) })
t.test('connection and subscription limits', async (t) => { limitsSuite(t) })

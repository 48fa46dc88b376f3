import t from 'tap'
import { credentialProperties } from './credentials.js'
import { messageProperties } from './messages.js'

// One process for the property suites of the two parsers that read untrusted
// input first: each test file pays the start-up of tsx, tap and fast-check.
t.test('credentials', async (t) => { credentialProperties(t) })
t.test('messages', async (t) => { messageProperties(t) })

import t from 'tap'
import { testHookOn } from './react-hook.js'

await testHookOn(t, 18)

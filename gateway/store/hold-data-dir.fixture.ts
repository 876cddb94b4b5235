/**
 * Test fixture run as a child process by embedded.test.ts: opens the embedded store in the data
 * directory given as argument, writes one backend and one history row, prints `ready` and waits to
 * be killed (or gives up by itself after `holdMsMax`).
 */
import { openStore } from './index.ts'

const holdMsMax = 120_000

const dataDir = process.argv[2]
if (dataDir === undefined) throw new Error('usage: hold-data-dir.fixture.ts <data dir>')
const store = await openStore({ dataDir })
await store.backends.insert({
  name: 'persisted',
  routingGroup: 'adhoc',
  proxyTo: 'http://trino-a:8080',
  externalUrl: null,
  active: true,
})
await store.history.insert({
  queryId: '20240101_000000_00001_persi',
  queryText: 'SELECT 1',
  created: 1_700_000_000_000,
  backendUrl: 'http://trino-a:8080',
  userName: 'alice',
  source: null,
  routingGroup: 'adhoc',
  externalUrl: null,
})
process.stdout.write('ready\n')
setTimeout(() => process.exit(1), holdMsMax)

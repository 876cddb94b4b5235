import { randomSeed, rngForRun } from '../common/random.ts'
import { LegacyScheduler } from '../trino/legacy-scheduler.ts'
import type { QueryScheduler } from '../trino/scheduler.ts'
import { type EtcConfig, loadEtc, type MockConfig, parseMockConfig } from './config.ts'
import { Coordinator } from './coordinator.ts'
import { coordinatorSuffix } from './protocol/query-id.ts'
import { loadSchedulerFromEtc, type ResourceGroupScheduler } from './resource-groups/index.ts'
import { copyRecord, MockServer } from './server.ts'
import { type Faults, type MockQueryRecord, noFaults, type QueryCounts } from './types.ts'

export { LegacyScheduler } from '../trino/legacy-scheduler.ts'
export type { Admission, QueryDescriptor, QueryScheduler } from '../trino/scheduler.ts'
export type { MockConfig, MockConfigInput } from './config.ts'
export { loadMockConfig, parseMockConfig } from './config.ts'
export type { Faults, MockQueryRecord, MockQueryState, QueryCounts } from './types.ts'

export interface MockTrinoOptions {
  name?: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: an ephemeral port. */
  port?: number
  seed?: number
  /** A Trino `etc/` folder; explicit options below override what it says. */
  etcDir?: string
  coordinator?: {
    environment?: string
    maxConcurrentQueries?: number
    maxQueuedQueries?: number
    clientTimeoutMs?: number
    processForwarded?: boolean
  }
  /** The parsed mock.yaml (load model, faults, retention). */
  mock?: MockConfig
  /** Injects an admission scheduler (e.g. Trino's resource groups) instead of the legacy `global` group. */
  scheduler?: QueryScheduler
  /** pino level; default 'silent'. */
  logLevel?: string
}

export interface RunningMockTrino {
  name: string
  url: string
  port: number
  close(): Promise<void>
  control: {
    queries(): MockQueryRecord[]
    setFaults(faults: Partial<Faults> & { downForMs?: number }): void
    faults(): Faults
    counts(): QueryCounts
    /** Resolves once a `down` change has closed or reopened the listener. */
    whenListenerSettled(): Promise<void>
  }
}

/** Trino's default `node.environment` is required in Trino; the mock defaults to the article's `test`. */
export const environmentDefault = 'test'

let mockCount = 0

export async function startMockTrino(options: MockTrinoOptions = {}): Promise<RunningMockTrino> {
  const name = options.name ?? `mock-trino-${++mockCount}`
  const seed = options.seed ?? randomSeed()
  const etc: EtcConfig = options.etcDir === undefined ? { resourceGroups: false } : loadEtc(options.etcDir)
  const mock = options.mock ?? parseMockConfig({})
  const environment = options.coordinator?.environment ?? etc.environment ?? environmentDefault
  const loaded =
    options.scheduler === undefined
      ? await schedulerFor(options.etcDir, etc, options, environment, seed, mock.clusterMemory)
      : undefined
  const scheduler = options.scheduler ?? (loaded as QueryScheduler)
  if (options.scheduler !== undefined && mock.clusterMemory !== undefined) {
    const injected = options.scheduler as Partial<ResourceGroupScheduler>
    injected.setClusterMemoryBytes?.(mock.clusterMemory, Date.now())
  }
  const slugRng = rngForRun(`${seed}/slugs/${name}`)
  const coordinator = new Coordinator({
    name,
    seed,
    workload: mock.workload,
    scheduler,
    clientTimeoutMs: options.coordinator?.clientTimeoutMs ?? etc.clientTimeoutMs,
    finishedQueriesMax: mock.retention.finishedQueriesMax,
    queryLengthCharsMax: etc.queryLengthCharsMax,
    nextSlug: () =>
      `y${Math.floor(slugRng() * 2 ** 48)
        .toString(16)
        .padStart(12, '0')}`,
    querySuffix: coordinatorSuffix(seed, name),
  })
  const { downForMs, ...faultPatch } = mock.faults
  const faults: Faults = { ...noFaults }
  for (const [key, value] of Object.entries(faultPatch)) {
    if (value !== undefined) (faults as unknown as Record<string, unknown>)[key] = value
  }
  const host = options.host ?? '127.0.0.1'
  const server = new MockServer({
    name,
    host,
    port: options.port ?? etc.port ?? 0,
    seed,
    environment,
    processForwarded: options.coordinator?.processForwarded ?? etc.processForwarded ?? true,
    coordinator,
    faults,
    logLevel: options.logLevel ?? 'silent',
  })
  try {
    await server.listen()
  } catch (error) {
    await loaded?.close?.()
    throw error
  }
  if (downForMs !== undefined) server.setFaults({ downForMs })
  const port = server.port
  return {
    name,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: async () => {
      await server.close()
      // A db-backed resource-group scheduler refreshes on a timer; an injected scheduler is the caller's.
      await loaded?.close?.()
    },
    control: {
      queries: () => coordinator.records().map(copyRecord),
      setFaults: (patch) => {
        server.setFaults(patch)
      },
      faults: () => server.faults(),
      counts: () => coordinator.counts(),
      whenListenerSettled: () => server.whenListenerSettled(),
    },
  }
}

async function schedulerFor(
  etcDir: string | undefined,
  etc: EtcConfig,
  options: MockTrinoOptions,
  environment: string,
  seed: number,
  clusterMemoryBytes: number | undefined,
): Promise<QueryScheduler & { close?: () => Promise<void> }> {
  // With resource-groups.properties, Trino uses the configured manager instead of the legacy group.
  if (etc.resourceGroups && etcDir !== undefined) {
    // The mock's seed drives the weighted policy's lottery, so a run repeats with its seed.
    return loadSchedulerFromEtc(etcDir, environment, undefined, { seed, clusterMemoryBytes })
  }
  return new LegacyScheduler({
    maxConcurrentQueries: options.coordinator?.maxConcurrentQueries ?? etc.maxConcurrentQueries,
    maxQueuedQueries: options.coordinator?.maxQueuedQueries ?? etc.maxQueuedQueries,
  })
}

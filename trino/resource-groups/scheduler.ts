/**
 * Trino's resource-group scheduler (`InternalResourceGroup` + `InternalResourceGroupManager`) as a
 * pure core: every method takes the time it happens at, nothing runs on its own. Group instances
 * are created lazily from the configuration's templates the first time a query selects them.
 *
 * Where this core is eager and Trino is periodic: Trino refreshes usage and starts queued queries
 * on a 100 ms tick and on every completion; here a usage update, a completion, a reconfiguration
 * and a tick each start whatever can start at once, so no query waits while its group could run.
 */
import { rngForRun } from '../../common/random.ts'
import type { Admission, QueryDescriptor, QueryScheduler, QueryUsage } from '../scheduler.ts'
import {
  type CompiledConfig,
  compileConfig,
  type GroupTemplate,
  type ResourceGroupsConfig,
  type SchedulingPolicy,
} from './config.ts'
import { resourceGroupErrorNames } from './errors.ts'
import {
  FifoQueue,
  IndexedPriorityQueue,
  StochasticPriorityQueue,
  type UpdatableQueue,
  WeightedFairQueue,
} from './queues.ts'
import { selectResourceGroup } from './selectors.ts'

export type ResourceGroupState = 'CAN_RUN' | 'CAN_QUEUE' | 'FULL'

export interface ResourceGroupSchedulerOptions {
  /** Seeds the `weighted` policy's lottery; the same seed and event sequence give the same order. */
  seed?: number | string | undefined
  /** The cluster's general memory pool, for percentage `softMemoryLimit`s; unbounded until known. */
  clusterMemoryBytes?: number | undefined
}

/** What the scheduler knows about one query it holds. */
export interface ScheduledQueryInfo {
  queryId: string
  resourceGroupId: readonly string[]
  state: 'queued' | 'running'
  user: string
  source: string | undefined
  createdAtMs: number
  submittedAtMs: number
  startedAtMs: number | undefined
  priority: number
}

/** A group instance's figures, as `/v1/resourceGroupState` reports them. */
export interface ResourceGroupSnapshot {
  id: readonly string[]
  state: ResourceGroupState
  schedulingPolicy: SchedulingPolicy
  schedulingWeight: number
  softMemoryLimitBytes: number
  softConcurrencyLimit: number
  hardConcurrencyLimit: number
  maxQueuedQueries: number
  memoryUsageBytes: number
  cpuUsageMs: number
  /** Both include descendants. */
  numQueuedQueries: number
  numRunningQueries: number
  numEligibleSubGroups: number
  disabled: boolean
  /** Ids of the instantiated children. */
  subGroupIds: ReadonlyArray<readonly string[]>
  /** Running queries of the whole subtree. */
  runningQueryIds: readonly string[]
}

export interface ResourceGroupScheduler extends QueryScheduler {
  /** Reports a running query's cumulative CPU time and current memory; returns ids started now. */
  updateUsage(queryId: string, usage: QueryUsage, nowMs: number): string[]
  /**
   * Applies a new configuration in place, as Trino's db manager does: existing instances take the
   * new limits, instances whose template disappeared are disabled (hard limit 0, max queued 0);
   * running and queued queries stay. Throws CONFIGURATION_INVALID and keeps the old configuration
   * when the new one is invalid. Returns ids started now.
   */
  reconfigure(config: ResourceGroupsConfig, nowMs: number): string[]
  /** While unavailable (a db source that never loaded, or stale), every query fails CONFIGURATION_UNAVAILABLE. */
  setAvailable(available: boolean): void
  setClusterMemoryBytes(bytes: number, nowMs: number): string[]
  queryInfo(queryId: string): ScheduledQueryInfo | undefined
  /** A group instance's figures; undefined when no query ever selected it (Trino's 404). */
  groupSnapshot(resourceGroupId: readonly string[]): ResourceGroupSnapshot | undefined
  /** Every instantiated group id, parents before children. */
  groupIds(): Array<readonly string[]>
  /** Walks every group and query and throws on a broken invariant; for tests and debugging. */
  checkInvariants(): void
}

interface QueryRecord {
  descriptor: QueryDescriptor
  group: GroupInstance
  state: 'queued' | 'running'
  submittedAtMs: number
  startedAtMs: number | undefined
  /** Last reported cumulative CPU and current memory, already counted in the groups' usage. */
  cpuTimeMs: number
  memoryBytes: number
}

type SubGroupQueue =
  | { policy: 'weighted_fair'; queue: WeightedFairQueue<GroupInstance> }
  | { policy: Exclude<SchedulingPolicy, 'weighted_fair'>; queue: UpdatableQueue<GroupInstance> }

interface GroupInstance {
  id: string[]
  key: string
  templatePath: string
  parent: GroupInstance | undefined
  subGroups: Map<string, GroupInstance>
  disabled: boolean
  maxQueued: number
  hardConcurrencyLimit: number
  softConcurrencyLimit: number
  softMemoryLimit: GroupTemplate['softMemoryLimit']
  softCpuLimitMs: number
  hardCpuLimitMs: number
  cpuQuotaGenerationMsPerSecond: number
  schedulingPolicy: SchedulingPolicy
  schedulingWeight: number
  jmxExport: boolean
  runningQueries: Set<QueryRecord>
  queuedQueries: UpdatableQueue<QueryRecord>
  eligibleSubGroups: SubGroupQueue
  descendantRunningQueries: number
  descendantQueuedQueries: number
  cpuUsageMs: number
  memoryUsageBytes: number
}

/** Trino's `query_priority` session property accepts integers from 1 up. */
const queryPriorityMin = 1

export function createResourceGroupScheduler(
  config: ResourceGroupsConfig,
  options: ResourceGroupSchedulerOptions = {},
): ResourceGroupScheduler {
  let compiled: CompiledConfig = compileConfig(config)
  let available = true
  let clusterMemoryBytes = options.clusterMemoryBytes ?? Number.POSITIVE_INFINITY
  const rng = rngForRun(`${options.seed ?? 0}:resource-groups`)
  const roots = new Map<string, GroupInstance>()
  const groups = new Map<string, GroupInstance>()
  const queries = new Map<string, QueryRecord>()
  let lastQuotaGenerationMs: number | undefined
  /** Kept alongside `queries` so `counts()` is O(1); checkInvariants recounts. */
  let runningCount = 0

  // ---------------------------------------------------------------------------------------------
  // Group configuration

  function newQueryQueue(policy: SchedulingPolicy): UpdatableQueue<QueryRecord> {
    if (policy === 'fair') return new FifoQueue()
    if (policy === 'weighted') return new StochasticPriorityQueue(rng)
    return new IndexedPriorityQueue()
  }

  function newSubGroupQueue(policy: SchedulingPolicy): SubGroupQueue {
    if (policy === 'weighted_fair') return { policy, queue: new WeightedFairQueue() }
    if (policy === 'fair') return { policy, queue: new FifoQueue() }
    if (policy === 'weighted') return { policy, queue: new StochasticPriorityQueue(rng) }
    return { policy, queue: new IndexedPriorityQueue() }
  }

  function softMemoryLimitBytes(group: GroupInstance): number {
    const limit = group.softMemoryLimit
    if (limit === undefined) return Number.POSITIVE_INFINITY
    if (limit.kind === 'bytes') return limit.bytes
    return Math.floor((clusterMemoryBytes * limit.percent) / 100)
  }

  function setSchedulingPolicy(group: GroupInstance, policy: SchedulingPolicy): void {
    if (group.schedulingPolicy === policy) return
    group.schedulingPolicy = policy
    if (policy === 'query_priority') {
      for (const child of group.subGroups.values()) setSchedulingPolicy(child, 'query_priority')
    }
    const previous = group.eligibleSubGroups
    group.eligibleSubGroups = newSubGroupQueue(policy)
    for (const child of previous.queue.values()) addOrUpdateSubGroup(group, child)
    const queued = group.queuedQueries.values()
    group.queuedQueries = newQueryQueue(policy)
    for (const query of queued) group.queuedQueries.addOrUpdate(query, query.descriptor.priority)
  }

  /** Applies a template's settings to an instance (Trino's `configureGroup`). */
  function configure(group: GroupInstance, template: GroupTemplate): void {
    const couldRun = canRunMore(group)
    group.disabled = false
    group.templatePath = template.templatePath
    group.maxQueued = template.maxQueued
    group.hardConcurrencyLimit = template.hardConcurrencyLimit
    group.softConcurrencyLimit = template.softConcurrencyLimit
    group.softMemoryLimit = template.softMemoryLimit
    group.softCpuLimitMs = template.softCpuLimitMs
    group.hardCpuLimitMs = template.hardCpuLimitMs
    group.cpuQuotaGenerationMsPerSecond = template.cpuQuotaGenerationMsPerSecond
    group.jmxExport = template.jmxExport
    // A child of a query_priority group stays query_priority whatever its own template says.
    const forced = group.parent?.schedulingPolicy === 'query_priority'
    setSchedulingPolicy(group, forced ? 'query_priority' : template.schedulingPolicy)
    const weightChanged = group.schedulingWeight !== template.schedulingWeight
    group.schedulingWeight = template.schedulingWeight
    if (weightChanged || couldRun !== canRunMore(group)) updateEligibility(group)
  }

  /** A deleted template leaves its instances unable to run or queue anything new. */
  function disable(group: GroupInstance): void {
    group.disabled = true
    group.hardConcurrencyLimit = 0
    group.maxQueued = 0
    updateEligibility(group)
  }

  function createGroup(
    parent: GroupInstance | undefined,
    name: string,
    templatePath: string,
    template: GroupTemplate,
  ): GroupInstance {
    const id = parent === undefined ? [name] : [...parent.id, name]
    const group: GroupInstance = {
      id,
      key: id.join('.'),
      templatePath,
      parent,
      subGroups: new Map(),
      disabled: false,
      maxQueued: 0,
      hardConcurrencyLimit: 0,
      softConcurrencyLimit: 0,
      softMemoryLimit: undefined,
      softCpuLimitMs: Number.POSITIVE_INFINITY,
      hardCpuLimitMs: Number.POSITIVE_INFINITY,
      cpuQuotaGenerationMsPerSecond: Number.POSITIVE_INFINITY,
      schedulingPolicy: 'fair',
      schedulingWeight: 1,
      jmxExport: false,
      runningQueries: new Set(),
      queuedQueries: new FifoQueue(),
      eligibleSubGroups: newSubGroupQueue('fair'),
      descendantRunningQueries: 0,
      descendantQueuedQueries: 0,
      cpuUsageMs: 0,
      memoryUsageBytes: 0,
    }
    if (parent === undefined) roots.set(name, group)
    else parent.subGroups.set(name, group)
    groups.set(groupKey(id), group)
    configure(group, template)
    return group
  }

  /** Trino's `createGroupIfNecessary`: the parent chain first, each configured from its template. */
  function createGroupIfNecessary(
    resourceGroupId: readonly string[],
    templatePath: string,
  ): { group: GroupInstance } | { errorName: string; message: string } {
    const templateSegments = templatePath.split('.')
    let parent: GroupInstance | undefined
    for (let depth = 0; depth < resourceGroupId.length; depth++) {
      const name = resourceGroupId[depth] as string
      const existing: GroupInstance | undefined =
        parent === undefined ? roots.get(name) : parent.subGroups.get(name)
      if (existing !== undefined) {
        parent = existing
        continue
      }
      const path = templateSegments.slice(0, depth + 1).join('.')
      const template = compiled.templates.get(path)
      const idText = resourceGroupId.slice(0, depth + 1).join('.')
      if (template === undefined) {
        return {
          errorName: resourceGroupErrorNames.genericInternalError,
          message: `No matching configuration found for [${idText}] using [${path}]`,
        }
      }
      if (parent !== undefined && parent.queuedQueries.size > 0) {
        return {
          errorName: resourceGroupErrorNames.genericInternalError,
          message: `Cannot add sub group to '${parent.key}' while queries are queued`,
        }
      }
      parent = createGroup(parent, name, path, template)
    }
    return { group: parent as GroupInstance }
  }

  // ---------------------------------------------------------------------------------------------
  // Trino's InternalResourceGroup arithmetic

  function runningQueryCount(group: GroupInstance): number {
    return group.runningQueries.size + group.descendantRunningQueries
  }

  function canQueueMore(group: GroupInstance): boolean {
    return group.descendantQueuedQueries + group.queuedQueries.size < group.maxQueued
  }

  function canRunMore(group: GroupInstance): boolean {
    if (group.cpuUsageMs >= group.hardCpuLimitMs || group.memoryUsageBytes > softMemoryLimitBytes(group))
      return false
    return runningQueryCount(group) < cpuPenalizedConcurrencyLimit(group)
  }

  /** Between the soft and hard CPU limits the concurrency limit falls linearly, by at least one, to no less than one. */
  function cpuPenalizedConcurrencyLimit(group: GroupInstance): number {
    if (group.cpuUsageMs < group.softCpuLimitMs) return group.hardConcurrencyLimit
    const penalty = (group.cpuUsageMs - group.softCpuLimitMs) / (group.hardCpuLimitMs - group.softCpuLimitMs)
    let limit = Math.floor(group.hardConcurrencyLimit * (1 - penalty))
    limit = Math.min(group.hardConcurrencyLimit - 1, limit)
    return Math.max(1, limit)
  }

  function isLeaf(group: GroupInstance): boolean {
    for (const child of group.subGroups.values()) {
      if (!child.disabled || child.queuedQueries.size + child.descendantQueuedQueries > 0) return false
    }
    return true
  }

  function isEligibleToStartNext(group: GroupInstance): boolean {
    return canRunMore(group) && (group.queuedQueries.size > 0 || group.eligibleSubGroups.queue.size > 0)
  }

  function highestQueuedPriority(group: GroupInstance): number {
    const first = group.queuedQueries.peek()
    return first === undefined ? 0 : first.descriptor.priority
  }

  /** The stochastic queue's tickets: a child below its soft limit practically always wins. */
  function schedulingTickets(group: GroupInstance): number {
    if (runningQueryCount(group) >= group.softConcurrencyLimit) return group.schedulingWeight
    return 2_147_483_647 * group.schedulingWeight
  }

  function addOrUpdateSubGroup(parent: GroupInstance, child: GroupInstance): void {
    const eligible = parent.eligibleSubGroups
    if (eligible.policy === 'weighted_fair') {
      eligible.queue.addOrUpdate(child, {
        share: child.schedulingWeight,
        utilization: runningQueryCount(child),
      })
    } else if (eligible.policy === 'query_priority') {
      eligible.queue.addOrUpdate(child, highestQueuedPriority(child))
    } else {
      eligible.queue.addOrUpdate(child, schedulingTickets(child))
    }
  }

  function updateEligibility(group: GroupInstance): void {
    for (let current = group; current.parent !== undefined; current = current.parent) {
      if (isEligibleToStartNext(current)) addOrUpdateSubGroup(current.parent, current)
      else current.parent.eligibleSubGroups.queue.remove(current)
    }
  }

  function startInBackground(
    group: GroupInstance,
    query: QueryRecord,
    nowMs: number,
    started: string[],
  ): void {
    query.state = 'running'
    query.startedAtMs = nowMs
    runningCount++
    group.runningQueries.add(query)
    for (let ancestor = group.parent; ancestor !== undefined; ancestor = ancestor.parent) {
      ancestor.descendantRunningQueries++
    }
    updateEligibility(group)
    started.push(query.descriptor.queryId)
  }

  function enqueue(group: GroupInstance, query: QueryRecord): void {
    group.queuedQueries.addOrUpdate(query, query.descriptor.priority)
    for (let ancestor = group.parent; ancestor !== undefined; ancestor = ancestor.parent) {
      ancestor.descendantQueuedQueries++
    }
    updateEligibility(group)
  }

  function internalStartNext(group: GroupInstance, nowMs: number, started: string[]): boolean {
    if (!canRunMore(group)) return false
    const query = group.queuedQueries.poll()
    if (query !== undefined) {
      startInBackground(group, query, nowMs, started)
      return true
    }
    // Polled even if it stays eligible, so that it goes to the back of the queue.
    const child = group.eligibleSubGroups.queue.poll()
    if (child === undefined) return false
    const childStarted = internalStartNext(child, nowMs, started)
    assert(childStarted, `eligible sub group ${child.key} had no query to run`)
    group.descendantQueuedQueries--
    assert(group.descendantQueuedQueries >= 0, `descendant queued count of ${group.key} went negative`)
    if (isEligibleToStartNext(child)) addOrUpdateSubGroup(group, child)
    return true
  }

  function processRoot(root: GroupInstance, nowMs: number, started: string[]): void {
    // Each round starts one query, so the queued count bounds the loop.
    const roundsMax = root.queuedQueries.size + root.descendantQueuedQueries
    for (let round = 0; round <= roundsMax; round++) {
      if (!internalStartNext(root, nowMs, started)) return
    }
    throw new Error(`resource group ${root.key} started more queries than it had queued`)
  }

  function processAll(nowMs: number): string[] {
    const started: string[] = []
    for (const root of roots.values()) processRoot(root, nowMs, started)
    return started
  }

  /** Adds a usage change to a group and its ancestors (Trino sums usage up the tree). */
  function addUsage(group: GroupInstance, cpuDeltaMs: number, memoryDeltaBytes: number): void {
    for (let current: GroupInstance | undefined = group; current !== undefined; current = current.parent) {
      current.cpuUsageMs += cpuDeltaMs
      current.memoryUsageBytes += memoryDeltaBytes
      updateEligibility(current)
    }
  }

  function generateQuotas(group: GroupInstance, elapsedSeconds: number): void {
    const before = group.cpuUsageMs
    const regenerated = elapsedSeconds * group.cpuQuotaGenerationMsPerSecond
    group.cpuUsageMs = Number.isFinite(regenerated) ? Math.max(0, before - regenerated) : 0
    const crossed =
      (group.cpuUsageMs < group.hardCpuLimitMs && before >= group.hardCpuLimitMs) ||
      (group.cpuUsageMs < group.softCpuLimitMs && before >= group.softCpuLimitMs)
    // Trino re-evaluates only on crossing a limit, and relies on its 100 ms usage refresh for the
    // rest; between the soft and hard limits every regenerated millisecond can raise the
    // concurrency limit, so the mock re-evaluates then too.
    const penalized = before >= group.softCpuLimitMs && group.cpuUsageMs !== before
    if (crossed || penalized) updateEligibility(group)
    for (const child of group.subGroups.values()) generateQuotas(child, elapsedSeconds)
  }

  // ---------------------------------------------------------------------------------------------
  // The seam

  function reject(errorName: string, message: string, resourceGroupId?: readonly string[]): Admission {
    return resourceGroupId === undefined
      ? { kind: 'rejected', errorName, message }
      : { kind: 'rejected', errorName, message, resourceGroupId }
  }

  function submit(query: QueryDescriptor, nowMs: number): Admission {
    if (queries.has(query.queryId)) throw new Error(`query ${query.queryId} was already submitted`)
    lastQuotaGenerationMs ??= nowMs
    if (!Number.isInteger(query.priority) || query.priority < queryPriorityMin) {
      return reject(
        resourceGroupErrorNames.invalidSessionProperty,
        `query_priority must be equal or greater than ${queryPriorityMin} (got ${query.priority})`,
      )
    }
    if (!available) {
      return reject(
        resourceGroupErrorNames.configurationUnavailable,
        'Selectors cannot be fetched from database',
      )
    }
    if (compiled.selectors.length === 0 && compiled.exactMatchSourceSelectors.length === 0) {
      return reject(resourceGroupErrorNames.configurationInvalid, 'No selectors are configured')
    }
    const selection = selectResourceGroup(compiled, query)
    if (selection.kind === 'no-match') {
      return reject(resourceGroupErrorNames.queryRejected, 'Query did not match any selection rule')
    }
    if (selection.kind === 'invalid')
      return reject(resourceGroupErrorNames.genericInternalError, selection.message)
    const created = createGroupIfNecessary(selection.resourceGroupId, selection.templatePath)
    if ('errorName' in created) return reject(created.errorName, created.message, selection.resourceGroupId)
    const group = created.group
    if (!isLeaf(group)) {
      return reject(
        resourceGroupErrorNames.invalidResourceGroup,
        `Cannot add queries to '${group.key}'. It is not a leaf group.`,
        group.id,
      )
    }
    let canQueue = true
    let canRun = true
    for (let current: GroupInstance | undefined = group; current !== undefined; current = current.parent) {
      canQueue &&= canQueueMore(current)
      canRun &&= canRunMore(current)
    }
    if (!canQueue && !canRun) {
      // Trino names the leaf even when an ancestor is the full one.
      return reject(
        resourceGroupErrorNames.queryQueueFull,
        `Too many queued queries for "${group.key}"`,
        group.id,
      )
    }
    const record: QueryRecord = {
      descriptor: query,
      group,
      state: 'queued',
      submittedAtMs: nowMs,
      startedAtMs: undefined,
      cpuTimeMs: 0,
      memoryBytes: 0,
    }
    queries.set(query.queryId, record)
    if (canRun) {
      startInBackground(group, record, nowMs, [])
      return { kind: 'running', resourceGroupId: [...group.id] }
    }
    enqueue(group, record)
    return { kind: 'queued', resourceGroupId: [...group.id] }
  }

  function release(queryId: string, nowMs: number, usage?: QueryUsage): string[] {
    const record = queries.get(queryId)
    // Already cleaned up, as Trino's queryFinished tolerates.
    if (record === undefined) return []
    queries.delete(queryId)
    const group = record.group
    if (record.state === 'running') {
      runningCount--
      group.runningQueries.delete(record)
      for (let ancestor = group.parent; ancestor !== undefined; ancestor = ancestor.parent) {
        ancestor.descendantRunningQueries--
        assert(
          ancestor.descendantRunningQueries >= 0,
          `descendant running count of ${ancestor.key} went negative`,
        )
      }
      // CPU is cumulative, so only the part not yet reported is added; memory drops to zero.
      const finalCpuMs = Math.max(record.cpuTimeMs, usage?.cpuTimeMs ?? record.cpuTimeMs)
      addUsage(group, finalCpuMs - record.cpuTimeMs, -record.memoryBytes)
    } else {
      const removed = group.queuedQueries.remove(record)
      assert(removed, `queued query ${queryId} was missing from ${group.key}`)
      for (let ancestor = group.parent; ancestor !== undefined; ancestor = ancestor.parent) {
        ancestor.descendantQueuedQueries--
        assert(
          ancestor.descendantQueuedQueries >= 0,
          `descendant queued count of ${ancestor.key} went negative`,
        )
      }
    }
    updateEligibility(group)
    const started: string[] = []
    processRoot(rootOf(group), nowMs, started)
    return started
  }

  function tick(nowMs: number): string[] {
    lastQuotaGenerationMs ??= nowMs
    const elapsedSeconds = Math.floor((nowMs - lastQuotaGenerationMs) / 1000)
    if (elapsedSeconds > 0) {
      for (const root of roots.values()) generateQuotas(root, elapsedSeconds)
      lastQuotaGenerationMs += elapsedSeconds * 1000
    }
    return processAll(nowMs)
  }

  function updateUsage(queryId: string, usage: QueryUsage, nowMs: number): string[] {
    const record = queries.get(queryId)
    if (record === undefined || record.state !== 'running') return []
    const cpuDeltaMs = Math.max(0, usage.cpuTimeMs - record.cpuTimeMs)
    const memoryDeltaBytes = usage.memoryBytes - record.memoryBytes
    record.cpuTimeMs += cpuDeltaMs
    record.memoryBytes = usage.memoryBytes
    if (cpuDeltaMs !== 0 || memoryDeltaBytes !== 0) addUsage(record.group, cpuDeltaMs, memoryDeltaBytes)
    return processAll(nowMs)
  }

  function reconfigure(next: ResourceGroupsConfig, nowMs: number): string[] {
    const nextCompiled = compileConfig(next)
    compiled = nextCompiled
    // Parents before children, so a child sees its parent's new policy.
    for (const group of groupsParentsFirst()) {
      const template = nextCompiled.templates.get(group.templatePath)
      if (template === undefined) disable(group)
      else configure(group, template)
    }
    return processAll(nowMs)
  }

  function setClusterMemoryBytes(bytes: number, nowMs: number): string[] {
    clusterMemoryBytes = bytes
    for (const group of groups.values()) updateEligibility(group)
    return processAll(nowMs)
  }

  function groupsParentsFirst(): GroupInstance[] {
    return [...groups.values()].sort((a, b) => a.id.length - b.id.length)
  }

  function rootOf(group: GroupInstance): GroupInstance {
    let current = group
    while (current.parent !== undefined) current = current.parent
    return current
  }

  function stateOf(group: GroupInstance): ResourceGroupState {
    if (canRunMore(group)) return 'CAN_RUN'
    if (canQueueMore(group)) return 'CAN_QUEUE'
    return 'FULL'
  }

  function subtreeRunning(group: GroupInstance): string[] {
    const ids = [...group.runningQueries].map((query) => query.descriptor.queryId)
    for (const child of group.subGroups.values()) ids.push(...subtreeRunning(child))
    return ids
  }

  function checkInvariants(): void {
    const seen = new Set<string>()
    for (const group of groups.values()) {
      let queuedBelow = 0
      let runningBelow = 0
      for (const child of group.subGroups.values()) {
        queuedBelow += child.queuedQueries.size + child.descendantQueuedQueries
        runningBelow += child.runningQueries.size + child.descendantRunningQueries
      }
      assert(group.descendantQueuedQueries === queuedBelow, `${group.key}: descendant queued count drifted`)
      assert(
        group.descendantRunningQueries === runningBelow,
        `${group.key}: descendant running count drifted`,
      )
      for (const query of [...group.runningQueries, ...group.queuedQueries.values()]) {
        const id = query.descriptor.queryId
        assert(!seen.has(id), `query ${id} is in more than one group`)
        seen.add(id)
        assert(queries.get(id) === query && query.group === group, `query ${id} is not where its record says`)
      }
      for (const query of group.runningQueries)
        assert(query.state === 'running', `${query.descriptor.queryId} state`)
      for (const query of group.queuedQueries.values())
        assert(query.state === 'queued', `${query.descriptor.queryId} state`)
      assert(group.cpuUsageMs >= 0 && group.memoryUsageBytes >= 0, `${group.key}: usage went negative`)
    }
    assert(seen.size === queries.size, 'a query record belongs to no group')
    const running = [...queries.values()].filter((query) => query.state === 'running').length
    assert(running === runningCount, `running count ${runningCount} drifted from ${running}`)
  }

  return {
    submit,
    release,
    tick,
    updateUsage,
    reconfigure,
    setClusterMemoryBytes,
    setAvailable(value: boolean) {
      available = value
    },
    counts() {
      return { running: runningCount, queued: queries.size - runningCount }
    },
    groupOf(queryId: string) {
      return queries.get(queryId)?.group.id
    },
    queryInfo(queryId: string) {
      const record = queries.get(queryId)
      if (record === undefined) return undefined
      return {
        queryId,
        resourceGroupId: [...record.group.id],
        state: record.state,
        user: record.descriptor.user,
        source: record.descriptor.source,
        createdAtMs: record.descriptor.createdAtMs,
        submittedAtMs: record.submittedAtMs,
        startedAtMs: record.startedAtMs,
        priority: record.descriptor.priority,
      }
    },
    groupSnapshot(resourceGroupId: readonly string[]) {
      const group = groups.get(groupKey(resourceGroupId))
      if (group === undefined) return undefined
      return {
        id: [...group.id],
        state: stateOf(group),
        schedulingPolicy: group.schedulingPolicy,
        schedulingWeight: group.schedulingWeight,
        softMemoryLimitBytes: softMemoryLimitBytes(group),
        softConcurrencyLimit: group.softConcurrencyLimit,
        hardConcurrencyLimit: group.hardConcurrencyLimit,
        maxQueuedQueries: group.maxQueued,
        memoryUsageBytes: group.memoryUsageBytes,
        cpuUsageMs: group.cpuUsageMs,
        numQueuedQueries: group.queuedQueries.size + group.descendantQueuedQueries,
        numRunningQueries: runningQueryCount(group),
        numEligibleSubGroups: group.eligibleSubGroups.queue.size,
        disabled: group.disabled,
        subGroupIds: [...group.subGroups.values()].map((child) => [...child.id]),
        runningQueryIds: subtreeRunning(group),
      }
    },
    groupIds() {
      return groupsParentsFirst().map((group) => [...group.id])
    },
    checkInvariants,
  }
}

/** Segments may contain dots (a user name expanded from `${USER}`), so the map key is the JSON array. */
function groupKey(id: readonly string[]): string {
  return JSON.stringify(id)
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`resource-group invariant broken: ${message}`)
}

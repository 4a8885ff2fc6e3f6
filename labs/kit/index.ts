/**
 * @scale-lab/kit — the small cluster every lab runs on. Web-standard APIs only, so the same code
 * runs in Node, in a browser Worker and in WebContainer; the node:http adapter lives apart in
 * `@scale-lab/kit/node-http`.
 */
export { Cluster } from './cluster.ts';
export type { ClusterOptions, DatabaseOptions } from './cluster.ts';
export { CLIENT } from './network.ts';
export type { LinkOptions } from './network.ts';
export type { NodeContext } from './context.ts';
export type { Handler, NodeFactory, Transport } from './components/http-node.ts';
export type { NodeKind, NodeState } from './node.ts';
export type { CapacityMetrics, CapacityOptions, WorkCost } from './capacity.ts';
export { NetworkError, TimeoutError, failureKind } from './failures.ts';
export type { CallOptions, FailureKind } from './failures.ts';
export { VirtualClock, RealClock, settle } from './clock.ts';
export type { Clock } from './clock.ts';
export { KeyValueStore, KvError } from './kv.ts';
export type { KvClient, SetOptions } from './kv.ts';
export { SqlError, closeDatabases, configureSqlWasm, loadSqlJs } from './sql.ts';
export type { RunResult, SqlClient, SqlClock, SqlErrorCode, SqlRow, SqlValue, SqlWasmSource } from './sql.ts';
export { SqlDatabase, BUSY_TIMEOUT } from './wal.ts';
export { ReplicationGroup } from './components/replication.ts';
export type { ReplicaStatus, ReplicationOptions } from './components/replication.ts';
export { QueueError } from './components/queue.ts';
export type { QueueClient, QueueMessage, QueueOptions, QueueStats, ReceiveOptions, TopicClient } from './components/queue.ts';
export { Metrics, percentile } from './metrics.ts';
export type { ClusterEvent, ClusterEventListener, Gauge, NodeMetrics } from './metrics.ts';
export type { LatencySummary, LoadInterval, LoadOptions, LoadRate, LoadReport } from './load.ts';
export { Client } from './clients.ts';
export type { ClientOptions } from './clients.ts';
export { AWS_REGION_RTT } from './regions.ts';
export type { Asker, RegionMatrix, Resolution, Resolver } from './regions.ts';
export { HttpCache, defaultCacheKey } from './components/http-cache.ts';
export type { CacheOutcome, CacheStats, EdgeOptions } from './components/http-cache.ts';
export { CookieJar } from './cookies.ts';
export { seededRandom, deriveSeed } from './random.ts';
export { getCookie, hostOf, retarget } from './http.ts';
export { Observation } from './observation.ts';
export { evidence, watchClusters } from './evidence.ts';
export type { ClusterWatcher, EvidenceMatch, WatchedCluster } from './evidence.ts';
export type { Topology } from './observation.ts';
export { assertNoWallClock, findWallClockUses } from './learner-guard.ts';
export type { GuardViolation } from './learner-guard.ts';

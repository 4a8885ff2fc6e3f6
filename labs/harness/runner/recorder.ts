/**
 * Records what happens in each graded test, for a replay of the tests that fail: the calls between
 * nodes, the store, database and queue operations, HTTP caches' answers, node states and `ctx.log`
 * lines of every cluster the
 * test makes, and what its `evidence(…)` calls name. Bounded: per cluster the first and the last
 * events are kept and what lies between is summarised; a passed test's recording is dropped at once;
 * the run as a whole keeps at most `run` entries. Environment-neutral, like the rest of the runner,
 * so Node and the browser record the same.
 */
import { getCurrentTest, type Test } from '@vitest/runner';
import type { ClusterReplay, ReplayCut, ReplayEntry, TestReplay } from '../results.ts';

/** The kit's types, as far as the recorder needs them (the kit is loaded at run time, as code). */
type ClusterEvent = { type: string; at: number } & Record<string, any>;
type EvidenceMatch = readonly ClusterEvent[] | ((event: ClusterEvent) => boolean);
interface WatchedCluster {
  readonly seed: number;
  readonly metrics: { on(listener: (event: ClusterEvent) => void): () => void };
  topology(): { nodes: { name: string; kind: string; role?: string; region?: string }[]; clients: { name: string; region?: string }[] };
}

export interface RecordingLimits {
  /** Events kept from the start of each cluster's run in a test. */
  head: number;
  /** Events kept from its end. */
  tail: number;
  /** Clusters recorded per test (a test that runs many seeds: the first ones). */
  clusters: number;
  /** Entries kept over the whole run's failed tests; later failures say they were left out. */
  run: number;
}

export const RECORDING_LIMITS: RecordingLimits = { head: 200, tail: 800, clusters: 3, run: 10_000 };

/** Kinds of event a replay shows; the others (sent; replication, whose positions move with every write) are not recorded. */
const RECORDED = new Set(['request', 'answered', 'failed', 'kv', 'query', 'queue', 'cache', 'node', 'promotion', 'log']);
const MAX_TEXT = 160;
const MAX_SUMMARY_KINDS = 12;

const clipText = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

/** What an event is, in a few words, for the summary of a cut. */
function describe(e: ClusterEvent): string {
  switch (e.type) {
    case 'answered':
    case 'failed':
      return `${e.from} → ${e.to} ${e.method} ${e.path}`;
    case 'kv':
      return `${e.from} → ${e.node} ${e.command}`;
    case 'query':
      return `${e.from} → ${e.node} SQL`;
    case 'queue':
      return `${e.by ?? e.node} → ${e.node} ${e.op}`;
    case 'cache':
      return `${e.node} cache ${e.outcome}`;
    case 'log':
      return `${e.node} log lines`;
    default:
      return `${e.node} ${e.type === 'node' ? e.state : e.type}`;
  }
}

/** One cluster's events in one test: the head, a ring of the latest, and what fell out between. */
class Track {
  readonly head: ClusterEvent[] = [];
  readonly headSeq: number[] = [];
  readonly tail: ClusterEvent[] = [];
  readonly tailSeq: number[] = [];
  #next = 0;
  dropped = 0;
  droppedFrom = 0;
  droppedTo = 0;
  readonly summary = new Map<string, number>();

  readonly cluster: WatchedCluster;
  readonly limits: RecordingLimits;

  constructor(cluster: WatchedCluster, limits: RecordingLimits) {
    this.cluster = cluster;
    this.limits = limits;
  }

  push(event: ClusterEvent, seq: number): void {
    if (this.head.length < this.limits.head) {
      this.head.push(event);
      this.headSeq.push(seq);
      return;
    }
    if (this.tail.length < this.limits.tail) {
      this.tail.push(event);
      this.tailSeq.push(seq);
      return;
    }
    const old = this.tail[this.#next]!;
    this.tail[this.#next] = event;
    this.tailSeq[this.#next] = seq;
    this.#next = (this.#next + 1) % this.limits.tail;
    // A server's side of a call is folded into its caller's: not counted twice.
    if (old.type === 'request') return;
    if (this.dropped === 0) this.droppedFrom = old.type === 'answered' || old.type === 'failed' ? old.start : old.at;
    this.dropped++;
    this.droppedTo = old.at;
    const what = describe(old);
    if (this.summary.has(what) || this.summary.size < 200) this.summary.set(what, (this.summary.get(what) ?? 0) + 1);
  }

  /** The latest events, oldest first. */
  ordered(): { events: ClusterEvent[]; seqs: number[] } {
    return {
      events: [...this.tail.slice(this.#next), ...this.tail.slice(0, this.#next)],
      seqs: [...this.tailSeq.slice(this.#next), ...this.tailSeq.slice(0, this.#next)],
    };
  }
}

interface Named {
  label: string;
  /** The events named (an array given), or the test over events. */
  match: Set<ClusterEvent> | ((event: ClusterEvent) => boolean);
  /** A test applies to events recorded before the call. */
  before: number;
}

interface TestLog {
  tracks: Track[];
  named: Named[];
  /** Clusters made beyond the per-test limit. */
  unrecorded: number;
}

export class Recorder {
  readonly #limits: RecordingLimits;
  readonly #tests = new Map<Test, TestLog>();
  #seq = 0;
  #budget: number;

  constructor(limits: Partial<RecordingLimits> = {}) {
    this.#limits = { ...RECORDING_LIMITS, ...limits };
    this.#budget = this.#limits.run;
  }

  /** Hooks a freshly loaded kit: every cluster it makes is recorded, every evidence call noted. */
  attach(kit: Record<string, unknown>): void {
    const watch = kit.watchClusters as ((watcher: unknown) => void) | undefined;
    watch?.({ clusterCreated: (cluster: WatchedCluster) => this.#watch(cluster), evidence: (label: string, match: EvidenceMatch) => this.#evidence(label, match) });
  }

  #log(): TestLog | undefined {
    const test = getCurrentTest();
    if (!test) return undefined;
    let log = this.#tests.get(test);
    if (!log) this.#tests.set(test, (log = { tracks: [], named: [], unrecorded: 0 }));
    return log;
  }

  #watch(cluster: WatchedCluster): void {
    const tracks = new Map<TestLog, Track | null>();
    cluster.metrics.on((event) => {
      if (!RECORDED.has(event.type)) return;
      const log = this.#log();
      if (!log) return;
      let track = tracks.get(log);
      if (track === undefined) {
        track = log.tracks.length < this.#limits.clusters ? new Track(cluster, this.#limits) : null;
        if (track) log.tracks.push(track);
        else log.unrecorded++;
        tracks.set(log, track);
      }
      track?.push(event, this.#seq++);
    });
  }

  #evidence(label: string, match: EvidenceMatch): void {
    const log = this.#log();
    if (!log) return;
    log.named.push({ label: clipText(label), match: typeof match === 'function' ? match : new Set(match), before: this.#seq });
  }

  /** The test ended: its replay when it failed and a cluster of it did something, nothing when it passed. */
  finish(test: Test, name: string, passed: boolean): TestReplay | undefined {
    const log = this.#tests.get(test);
    this.#tests.delete(test);
    if (passed) return undefined;
    const evidence = (log?.named ?? []).map((n) => ({ label: n.label, matched: 0 }));
    // A test that made no cluster (or whose cluster sent nothing) has nothing to replay.
    if (!log || log.tracks.length === 0) return undefined;
    const clusters = log.tracks.map((track) => this.#replayOf(track, log.named, evidence));
    const size = clusters.reduce((sum, c) => sum + c.entries.length, 0);
    if (size > this.#budget) {
      return { test: name, clusters: [], evidence, omitted: `The failed tests before this one already filled what a run keeps (${this.#limits.run.toLocaleString('en')} messages), so this test's messages were left out. Run this step alone to see them.` };
    }
    this.#budget -= size;
    return { test: name, clusters, evidence, ...(log.unrecorded ? { omitted: `This test made ${log.tracks.length + log.unrecorded} clusters; the first ${log.tracks.length} are shown.` } : {}) };
  }

  #replayOf(track: Track, named: Named[], counts: { matched: number }[]): ClusterReplay {
    const first = entriesOf(track.head, track.headSeq, named, counts);
    const latest = track.ordered();
    const last = entriesOf(latest.events, latest.seqs, named, counts);
    const topology = track.cluster.topology();
    const nodes = topology.nodes.map((n) => ({ name: n.name, kind: n.kind, ...(n.role ? { role: n.role } : {}), ...(n.region ? { region: n.region } : {}) }));
    const clients = topology.clients.map((c) => ({ name: c.name, ...(c.region ? { region: c.region } : {}) }));
    let cut: ReplayCut | undefined;
    if (track.dropped > 0) {
      const summary = [...track.summary].sort((a, b) => b[1] - a[1]).slice(0, MAX_SUMMARY_KINDS).map(([what, count]) => ({ what, count }));
      cut = { at: first.length, dropped: track.dropped, from: track.droppedFrom, to: track.droppedTo, summary };
    }
    return { seed: track.cluster.seed, nodes, clients, entries: [...first, ...last], ...(cut ? { cut } : {}) };
  }
}

/** Calls from the server's side waiting for their caller's answer, by who called whom for what. */
type Pending = Map<string, { e: ClusterEvent; seq: number }[]>;

const callKey = (from: string, to: string, e: ClusterEvent) => `${from}>${to}|${e.method} ${e.path}|${e.status}`;

/**
 * Turns recorded events into replay entries, in order of time: a caller's answered or failed call
 * becomes one call (its server's side folded in, so evidence naming either marks it), store and
 * database operations, states and log lines stay as they are.
 */
function entriesOf(events: ClusterEvent[], seqs: number[], named: Named[], counts: { matched: number }[]): ReplayEntry[] {
  const pending: Pending = new Map();
  const out: ReplayEntry[] = [];
  const marks = (e: ClusterEvent, seq: number, also?: ClusterEvent): number[] | undefined => {
    const found: number[] = [];
    named.forEach((n, i) => {
      const hit = n.match instanceof Set ? n.match.has(e) || (also !== undefined && n.match.has(also)) : seq < n.before && (safely(n.match, e) || (also !== undefined && safely(n.match, also)));
      if (hit) {
        found.push(i);
        counts[i]!.matched++;
      }
    });
    return found.length ? found : undefined;
  };
  events.forEach((e, i) => {
    const seq = seqs[i]!;
    switch (e.type) {
      case 'request': {
        const key = callKey(e.from, e.node, e);
        const list = pending.get(key);
        if (list) list.push({ e, seq });
        else pending.set(key, [{ e, seq }]);
        return;
      }
      case 'answered':
      case 'failed': {
        const server = e.type === 'answered' ? pending.get(callKey(e.from, e.to, e))?.shift()?.e : undefined;
        const evidence = marks(e, seq, server);
        const result = e.type === 'answered' ? { status: e.status as number } : { failure: clipText(`${e.kind ?? 'error'}: ${e.message}`) };
        out.push({ kind: 'call', at: e.start, end: e.end, from: e.from, to: e.to, what: clipText(`${e.method} ${e.path}`), ...result, ...(evidence ? { evidence } : {}) });
        return;
      }
      case 'kv':
      case 'query': {
        const what = e.type === 'kv' ? `${e.command} ${e.key}${e.hit === true ? ' (hit)' : e.hit === false ? ' (miss)' : ''}` : e.sql;
        const evidence = marks(e, seq);
        out.push({ kind: 'op', at: e.at, from: e.from, to: e.node, what: clipText(what), ...(evidence ? { evidence } : {}) });
        return;
      }
      case 'queue': {
        const evidence = marks(e, seq);
        const what = `${e.op} ${e.id}`;
        out.push(e.by !== undefined ? { kind: 'op', at: e.at, from: e.by, to: e.node, what, ...(evidence ? { evidence } : {}) } : { kind: 'note', at: e.at, node: e.node, text: what, ...(evidence ? { evidence } : {}) });
        return;
      }
      case 'cache': {
        const evidence = marks(e, seq);
        out.push({ kind: 'note', at: e.at, node: e.node, text: clipText(`cache ${e.outcome} ${e.key}`), ...(evidence ? { evidence } : {}) });
        return;
      }
      case 'node':
        out.push({ kind: 'state', at: e.at, node: e.node, state: e.state });
        return;
      case 'promotion':
        out.push({ kind: 'state', at: e.at, node: e.node, state: 'promoted' });
        return;
      case 'log':
        out.push({ kind: 'log', at: e.at, node: e.node, text: clipText(e.message) });
        return;
    }
  });
  // Handled, but the caller had stopped waiting (or its answer fell in the cut): the server's side alone.
  for (const list of pending.values()) {
    for (const { e, seq } of list) {
      const evidence = marks(e, seq);
      out.push({ kind: 'call', at: e.at - e.latency, end: e.at, from: e.from, to: e.node, what: clipText(`${e.method} ${e.path}`), status: e.status, ...(evidence ? { evidence } : {}) });
    }
  }
  // Stable: what happened at one instant stays in the order it happened.
  return out.map((entry, i) => [entry, i] as const).sort((a, b) => a[0].at - b[0].at || a[1] - b[1]).map(([entry]) => entry);
}

function safely(match: (event: ClusterEvent) => boolean, event: ClusterEvent): boolean {
  try {
    return match(event) === true;
  } catch {
    return false;
  }
}

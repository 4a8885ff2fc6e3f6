/**
 * Records what happens in each graded test, for a replay of the tests that fail: the calls between
 * nodes, the store, database and queue operations, HTTP caches' answers, node states and `ctx.log`
 * lines of every cluster the test makes, and what its `evidence(…)` calls name. Bounded: per cluster
 * the first and the last events are kept and what lies between is summarised, except the evidence
 * found there; a passed test's recording is dropped at once; the run as a whole keeps at most `run`
 * entries. Environment-neutral, like the rest of the runner, so Node and the browser record the same.
 */
import { getCurrentTest, type Test } from '@vitest/runner';
import type { ClusterReplay, ReplayCut, ReplayEntry, TestReplay } from '../results.ts';

/** The kit's types, as far as the recorder needs them (the kit is loaded at run time, as code). */
type ClusterEvent = { type: string; at: number } & Record<string, any>;
type EvidenceMatch = readonly ClusterEvent[] | ((event: ClusterEvent) => boolean);
interface WatchedCluster {
  readonly seed: number;
  /** The kit's clusters have one: the time a test ended, for the calls still waiting then. */
  readonly clock?: { now(): number };
  readonly metrics: { on(listener: (event: ClusterEvent) => void): () => void };
  topology(): { nodes: { name: string; kind: string; role?: string; region?: string }[]; clients: { name: string; region?: string }[] };
}

export interface RecordingLimits {
  /** Events kept from the start of each cluster's run in a test. */
  head: number;
  /** Events kept from its end. */
  tail: number;
  /** Events left out between head and tail still at hand, the latest ones, for evidence named later. */
  middle: number;
  /** Entries from what was left out kept per evidence label (the first ones it names there). */
  evidence: number;
  /** Clusters recorded per test (a test that runs many seeds: the first ones). */
  clusters: number;
  /** Entries kept over the whole run's failed tests; later failures say they were left out. */
  run: number;
}

export const RECORDING_LIMITS: RecordingLimits = { head: 200, tail: 800, middle: 20_000, evidence: 100, clusters: 3, run: 10_000 };

/**
 * Kinds of event a replay shows; replication (whose positions move with every write) is not recorded.
 * `sent` is held only until its call is answered or fails: what is left when the test ends never got an answer.
 */
const RECORDED = new Set(['sent', 'request', 'answered', 'failed', 'kv', 'query', 'queue', 'cache', 'node', 'promotion', 'log']);
/** Calls without an answer shown per cluster (a flood of hung calls: the first ones). */
const MAX_OPEN = 100;
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

/** The time a left-out event's message began: a call's start, else when it happened. */
const startOf = (e: ClusterEvent): number => (e.type === 'answered' || e.type === 'failed' ? e.start : e.at);

const openKey = (from: string, to: string, e: ClusterEvent, sent: number) => `${from}>${to}|${e.method} ${e.path}|${sent}`;

/** An event left out of head and tail, still at hand: `n` is how many counted events were left out before it. */
interface Left {
  event: ClusterEvent;
  seq: number;
  n: number;
}

/** One cluster's events in one test: the head, a ring of the latest, and what fell out between. */
class Track {
  readonly head: ClusterEvent[] = [];
  readonly headSeq: number[] = [];
  readonly tail: ClusterEvent[] = [];
  readonly tailSeq: number[] = [];
  #next = 0;
  /** The latest left-out events, oldest first from `#middleNext` (a ring, like the tail). */
  readonly middle: Left[] = [];
  #middleNext = 0;
  dropped = 0;
  droppedFrom = 0;
  droppedTo = 0;
  readonly summary = new Map<string, number>();
  /** Calls sent and not yet answered, by who called whom for what and when. */
  readonly #open = new Map<string, { event: ClusterEvent; seq: number }[]>();
  #opened = 0;

  readonly cluster: WatchedCluster;
  readonly limits: RecordingLimits;

  constructor(cluster: WatchedCluster, limits: RecordingLimits) {
    this.cluster = cluster;
    this.limits = limits;
  }

  push(event: ClusterEvent, seq: number): void {
    if (event.type === 'sent') {
      this.#send(event, seq);
      return;
    }
    if (event.type === 'answered' || event.type === 'failed') this.#close(event);
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
    const oldSeq = this.tailSeq[this.#next]!;
    this.tail[this.#next] = event;
    this.tailSeq[this.#next] = seq;
    this.#next = (this.#next + 1) % this.limits.tail;
    this.#keep({ event: old, seq: oldSeq, n: this.dropped });
    // A server's side of a call is folded into its caller's: not counted twice.
    if (old.type === 'request') return;
    if (this.dropped === 0) this.droppedFrom = startOf(old);
    this.dropped++;
    this.droppedTo = old.at;
    const what = describe(old);
    if (this.summary.has(what) || this.summary.size < 200) this.summary.set(what, (this.summary.get(what) ?? 0) + 1);
  }

  #send(event: ClusterEvent, seq: number): void {
    if (this.#opened >= MAX_OPEN) return;
    const key = openKey(event.from, event.to, event, event.at);
    const list = this.#open.get(key);
    if (list) list.push({ event, seq });
    else this.#open.set(key, [{ event, seq }]);
    this.#opened++;
  }

  #close(event: ClusterEvent): void {
    const key = openKey(event.from, event.to, event, event.start);
    const list = this.#open.get(key);
    if (!list) return;
    list.shift();
    this.#opened--;
    if (list.length === 0) this.#open.delete(key);
  }

  /** The calls still waiting for an answer, in the order they were sent. */
  open(): { event: ClusterEvent; seq: number }[] {
    return [...this.#open.values()].flat().sort((a, b) => a.seq - b.seq);
  }

  #keep(left: Left): void {
    if (this.limits.middle <= 0) return;
    if (this.middle.length < this.limits.middle) this.middle.push(left);
    else {
      this.middle[this.#middleNext] = left;
      this.#middleNext = (this.#middleNext + 1) % this.limits.middle;
    }
  }

  /** The latest events, oldest first. */
  ordered(): { events: ClusterEvent[]; seqs: number[] } {
    return {
      events: [...this.tail.slice(this.#next), ...this.tail.slice(0, this.#next)],
      seqs: [...this.tailSeq.slice(this.#next), ...this.tailSeq.slice(0, this.#next)],
    };
  }

  /** The left-out events still at hand, oldest first. */
  leftOut(): Left[] {
    return [...this.middle.slice(this.#middleNext), ...this.middle.slice(0, this.#middleNext)];
  }
}

interface Named {
  label: string;
  /** The events named (an array given), or the test over events. */
  match: Set<ClusterEvent> | ((event: ClusterEvent) => boolean);
  /** A test applies to events recorded before the call, of the cluster the test made last before it. */
  before: number;
  cluster: WatchedCluster | undefined;
}

interface TestLog {
  tracks: Track[];
  named: Named[];
  /** Clusters made beyond the per-test limit. */
  unrecorded: number;
  /** The cluster the test made last: the one its evidence is about (a test that loops over seeds names the events of the seed it fails at). */
  current?: WatchedCluster;
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
    const made = this.#log();
    if (made) made.current = cluster;
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
    log.named.push({ label: clipText(label), match: typeof match === 'function' ? match : new Set(match), before: this.#seq, cluster: log.current });
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
    const latest = track.ordered();
    const until = track.cluster.clock?.now() ?? Math.max(0, ...track.head.map((e) => e.at), ...latest.events.map((e) => e.at));
    const marking = { named, counts, cluster: track.cluster, until };
    // A call still waiting goes with the part it was sent in (with the last part when that was cut).
    const open = track.open();
    const early = open.filter((o) => o.seq <= (track.headSeq.at(-1) ?? -1));
    const late = open.filter((o) => !early.includes(o));
    const first = entriesOf([...track.head, ...early.map((o) => o.event)], [...track.headSeq, ...early.map((o) => o.seq)], marking);
    const middle = track.dropped > 0 ? this.#middleOf(track, marking) : { entries: [], cuts: [] };
    const last = entriesOf([...latest.events, ...late.map((o) => o.event)], [...latest.seqs, ...late.map((o) => o.seq)], marking);
    const topology = track.cluster.topology();
    const nodes = topology.nodes.map((n) => ({ name: n.name, kind: n.kind, ...(n.role ? { role: n.role } : {}), ...(n.region ? { region: n.region } : {}) }));
    const clients = topology.clients.map((c) => ({ name: c.name, ...(c.region ? { region: c.region } : {}) }));
    const cuts = middle.cuts.map((cut) => ({ ...cut, at: cut.at + first.length }));
    return { seed: track.cluster.seed, nodes, clients, entries: [...first, ...middle.entries, ...last], ...(cuts.length ? { cuts } : {}) };
  }

  /**
   * What was left out between head and tail: the evidence found there (at most `evidence` events a
   * label, the first ones, each call whole), and the stretches around it, each a cut that says what
   * it held.
   */
  #middleOf(track: Track, marking: Marking): { entries: ReplayEntry[]; cuts: ReplayCut[] } {
    const left = track.leftOut();
    const partner = partnersOf(left);
    const chosen = new Set<number>();
    const choose = (i: number) => {
      chosen.add(i);
      const other = partner.get(i);
      if (other !== undefined) chosen.add(other);
    };
    for (const n of marking.named) {
      let found = 0;
      for (let i = 0; i < left.length && found < this.#limits.evidence; i++) {
        if (names(n, left[i]!.event, left[i]!.seq, track.cluster)) {
          choose(i);
          found++;
        }
      }
    }
    // A few messages between two kept ones are shown rather than cut: a cut of one or two says less than they do.
    // (So are a few between the head and the first kept, when none older fell out, and after the last kept.)
    const kept = chosen.size ? [(left[0]?.n ?? 0) === 0 ? -1 : 0, ...[...chosen].sort((a, b) => a - b), left.length] : [];
    for (let k = 1; k < kept.length; k++) {
      const between: number[] = [];
      for (let i = kept[k - 1]! + 1; i < kept[k]! && between.length <= SHOWN_BETWEEN; i++) if (counted(left[i]!.event) && !chosen.has(i)) between.push(i);
      if (between.length <= SHOWN_BETWEEN) between.forEach(choose);
    }
    const indexes = [...chosen].sort((a, b) => a - b);
    // In the order they were left out (a call where it ended), so that each cut falls between the right entries.
    const built = buildEntries(indexes.map((i) => left[i]!.event), indexes.map((i) => left[i]!.seq), marking)
      .map(({ entry, sources }) => ({ entry, last: Math.max(...sources.map((k) => indexes[k]!)) }))
      .sort((a, b) => a.last - b.last);
    const stretch = new Stretches(track, left, chosen);
    const cuts: ReplayCut[] = [];
    let from = 0;
    built.forEach(({ entry, last }, at) => {
      const cut = stretch.cut(from, last, at, entry.at);
      if (cut) cuts.push(cut);
      from = last + 1;
    });
    const cut = stretch.cut(from, left.length, built.length, track.droppedTo);
    if (cut) cuts.push(cut);
    return { entries: built.map((b) => b.entry), cuts };
  }
}

/**
 * Whether evidence `n` names this event of `cluster`: one of the events given (of whichever cluster),
 * or one the test over events picks among those before the call, in the cluster it is about.
 */
function names(n: Named, e: ClusterEvent, seq: number, cluster: WatchedCluster): boolean {
  if (n.match instanceof Set) return n.match.has(e);
  return seq < n.before && (n.cluster === undefined || n.cluster === cluster) && safely(n.match, e);
}

/** Left-out messages between two kept ones shown rather than cut, at most. */
const SHOWN_BETWEEN = 3;

/** A server's side is not counted: it is folded into its caller's call. */
const counted = (e: ClusterEvent) => e.type !== 'request';

/** The two sides of each call among left-out events: a server's `request` and its caller's `answered`, by index. */
function partnersOf(left: Left[]): Map<number, number> {
  const pending = new Map<string, number[]>();
  const partner = new Map<number, number>();
  left.forEach(({ event: e }, i) => {
    if (e.type === 'request') {
      const key = callKey(e.from, e.node, e);
      const list = pending.get(key);
      if (list) list.push(i);
      else pending.set(key, [i]);
    } else if (e.type === 'answered') {
      const server = pending.get(callKey(e.from, e.to, e))?.shift();
      if (server !== undefined) {
        partner.set(i, server);
        partner.set(server, i);
      }
    }
  });
  return partner;
}

/**
 * Cuts of the left-out events that were not kept, stretch by stretch (indexes into `left`). Events
 * older than those still at hand belong to the first stretch: the track's summary of everything left
 * out, less what is still at hand, says what they were.
 */
class Stretches {
  readonly #track: Track;
  readonly #left: Left[];
  readonly #chosen: Set<number>;
  readonly #older = new Map<string, number>();

  constructor(track: Track, left: Left[], chosen: Set<number>) {
    this.#track = track;
    this.#left = left;
    this.#chosen = chosen;
    for (const [what, count] of track.summary) this.#older.set(what, count);
    for (const { event } of left) if (counted(event)) this.#older.set(describe(event), (this.#older.get(describe(event)) ?? 0) - 1);
  }

  /** The cut of events `from` to `to` (not included), before entry `at`; none when nothing there was left out. */
  cut(from: number, to: number, at: number, until: number): ReplayCut | undefined {
    const summary = new Map<string, number>();
    let dropped = 0;
    let start = Infinity;
    let end = -Infinity;
    if (from === 0 && (this.#left[0]?.n ?? this.#track.dropped) > 0) {
      dropped = this.#left[0]?.n ?? this.#track.dropped;
      for (const [what, count] of this.#older) summary.set(what, count);
      start = this.#track.droppedFrom;
    }
    const older = dropped;
    for (let i = from; i < to; i++) {
      const { event } = this.#left[i]!;
      if (!counted(event) || this.#chosen.has(i)) continue;
      dropped++;
      const what = describe(event);
      summary.set(what, (summary.get(what) ?? 0) + 1);
      start = Math.min(start, startOf(event));
      end = Math.max(end, event.at);
    }
    if (dropped === 0) return undefined;
    // Only older events: they ended before the next one kept.
    if (dropped === older) end = Math.max(start, until);
    const kinds = [...summary].filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]).slice(0, MAX_SUMMARY_KINDS);
    return { at, dropped, from: start, to: end, summary: kinds.map(([what, count]) => ({ what, count })) };
  }
}

/** What marks a cluster's entries: the evidence named, its counts, and the cluster they are of (and when its test ended). */
interface Marking {
  named: Named[];
  counts: { matched: number }[];
  cluster: WatchedCluster;
  until: number;
}

/** Calls from the server's side waiting for their caller's answer, by who called whom for what. */
type Pending = Map<string, { e: ClusterEvent; seq: number; i: number }[]>;

const callKey = (from: string, to: string, e: ClusterEvent) => `${from}>${to}|${e.method} ${e.path}|${e.status}`;

/**
 * Turns recorded events into replay entries, in order of time: a caller's answered or failed call
 * becomes one call (its server's side folded in, so evidence naming either marks it), a call sent and
 * never answered one without an answer, store and database operations, states and log lines stay as
 * they are.
 */
function entriesOf(events: ClusterEvent[], seqs: number[], marking: Marking): ReplayEntry[] {
  return buildEntries(events, seqs, marking).map((b) => b.entry);
}

/** The entries, each with the indexes of the events it was made of. */
function buildEntries(events: ClusterEvent[], seqs: number[], { named, counts, cluster, until }: Marking): { entry: ReplayEntry; sources: number[] }[] {
  const pending: Pending = new Map();
  const out: { entry: ReplayEntry; sources: number[] }[] = [];
  const marks = (e: ClusterEvent, seq: number, also?: ClusterEvent): number[] | undefined => {
    const found: number[] = [];
    named.forEach((n, i) => {
      if (names(n, e, seq, cluster) || (also !== undefined && names(n, also, seq, cluster))) {
        found.push(i);
        counts[i]!.matched++;
      }
    });
    return found.length ? found : undefined;
  };
  const add = (entry: ReplayEntry, ...sources: number[]) => out.push({ entry, sources });
  events.forEach((e, i) => {
    const seq = seqs[i]!;
    switch (e.type) {
      case 'request': {
        const key = callKey(e.from, e.node, e);
        const list = pending.get(key);
        if (list) list.push({ e, seq, i });
        else pending.set(key, [{ e, seq, i }]);
        return;
      }
      case 'answered':
      case 'failed': {
        const server = e.type === 'answered' ? pending.get(callKey(e.from, e.to, e))?.shift() : undefined;
        const evidence = marks(e, seq, server?.e);
        const result = e.type === 'answered' ? { status: e.status as number } : { failure: clipText(`${e.kind ?? 'error'}: ${e.message}`) };
        add({ kind: 'call', at: e.start, end: e.end, from: e.from, to: e.to, what: clipText(`${e.method} ${e.path}`), ...result, ...(evidence ? { evidence } : {}) }, i, ...(server ? [server.i] : []));
        return;
      }
      case 'sent': {
        // Still waiting when the test ended.
        const evidence = marks(e, seq);
        add({ kind: 'call', at: e.at, end: Math.max(e.at, until), from: e.from, to: e.to, what: clipText(`${e.method} ${e.path}`), unanswered: true, ...(evidence ? { evidence } : {}) }, i);
        return;
      }
      case 'kv':
      case 'query': {
        const what = e.type === 'kv' ? `${e.command} ${e.key}${e.hit === true ? ' (hit)' : e.hit === false ? ' (miss)' : ''}` : e.sql;
        const evidence = marks(e, seq);
        add({ kind: 'op', at: e.at, from: e.from, to: e.node, what: clipText(what), ...(evidence ? { evidence } : {}) }, i);
        return;
      }
      case 'queue': {
        const evidence = marks(e, seq);
        const what = `${e.op} ${e.id}`;
        add(e.by !== undefined ? { kind: 'op', at: e.at, from: e.by, to: e.node, what, ...(evidence ? { evidence } : {}) } : { kind: 'note', at: e.at, node: e.node, text: what, ...(evidence ? { evidence } : {}) }, i);
        return;
      }
      case 'cache': {
        const evidence = marks(e, seq);
        add({ kind: 'note', at: e.at, node: e.node, text: clipText(`cache ${e.outcome} ${e.key}`), ...(evidence ? { evidence } : {}) }, i);
        return;
      }
      case 'node':
        add({ kind: 'state', at: e.at, node: e.node, state: e.state }, i);
        return;
      case 'promotion':
        add({ kind: 'state', at: e.at, node: e.node, state: 'promoted' }, i);
        return;
      case 'log':
        add({ kind: 'log', at: e.at, node: e.node, text: clipText(e.message) }, i);
        return;
    }
  });
  // Handled, but the caller had stopped waiting (or its answer fell in the cut): the server's side alone.
  for (const list of pending.values()) {
    for (const { e, seq, i } of list) {
      const evidence = marks(e, seq);
      add({ kind: 'call', at: e.at - e.latency, end: e.at, from: e.from, to: e.node, what: clipText(`${e.method} ${e.path}`), status: e.status, ...(evidence ? { evidence } : {}) }, i);
    }
  }
  // Stable: what happened at one instant stays in the order it happened.
  return out.map((built, i) => [built, i] as const).sort((a, b) => a[0].entry.at - b[0].entry.at || a[1] - b[1]).map(([built]) => built);
}

function safely(match: (event: ClusterEvent) => boolean, event: ClusterEvent): boolean {
  try {
    return match(event) === true;
  } catch {
    return false;
  }
}

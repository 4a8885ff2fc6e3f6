/**
 * A playground run: the reader's cluster on a virtual clock that the host paces (`tick`), with
 * traffic from outside through the kit's load generator, the reader's faults, and a frame of
 * aggregated figures after every tick. Environment-neutral: the Worker drives it with a wall-clock
 * interval, the unit tests drive it by hand.
 *
 * Replays are exact: every act takes effect at a tick boundary, and a re-run given the recorded
 * actions stops its clock at each action's virtual time to apply it there, with the same seed.
 */
import type { Cluster } from '../../../labs/kit/cluster.ts';
import type { ClusterEvent, NodeMetrics } from '../../../labs/kit/metrics.ts';
import { percentileOfSorted } from '../../../labs/kit/metrics.ts';
import type { Topology } from '../../../labs/kit/observation.ts';
import { MAX_FRAME_BYTES, MAX_VIRTUAL_MS, type Act, type Action, type Fault, type Frame, type NodeFigures, type SeriesPoint, type Traffic } from './protocol.ts';

/** Traffic is sent in slices this long, each one load-generator run at the rate then in effect. */
export const SLICE_MS = 1000;
const MAX_LOGS_PER_FRAME = 20;
/** Figures are rates over about this much cluster time, so they read steadily at any pace. */
const RATE_WINDOW_MS = 1000;
const MAX_LOG_CHARS = 300;

export interface SessionOptions {
  /** Numbers this run's frames, so a host can ignore those of a run it stopped. */
  run: number;
  /** The node clients reach (lab.json's cluster.entry). */
  entry: string;
  /** Actions to replay at their virtual times. */
  replay?: Action[];
  post: (frame: Frame) => void;
}

/** `/products/{1-10}` → /products/1, /products/2, … /products/10, /products/1, … */
export function expandPath(path: string, i: number): string {
  return path.replace(/\{(\d+)-(\d+)\}/g, (_, a: string, b: string) => {
    const lo = Number(a);
    const span = Math.max(1, Number(b) - lo + 1);
    return String(lo + (i % span));
  });
}

const CLIENT = 'client';

export class PlaygroundSession {
  readonly #cluster: Cluster;
  readonly #o: SessionOptions;
  readonly #pending: Action[];
  readonly #stopListening: () => void;
  /** Nodes whose figures need the kit's gauges (cores, replication): read with metrics.node(). */
  readonly #gauged: Set<string>;
  /** Cumulative counters by key, sampled at each frame: figures are rates over the last second. */
  readonly #history = new Map<string, { at: number; values: number[] }[]>();
  #traffic: (Traffic & { since: number }) | undefined;
  #sent = 0;
  #partitioned = new Set<string>();
  #ended: string | undefined;
  /** Start of the chart's current point: points cover one second of cluster time each. */
  #pointStart: number;
  // Gathered from events for the current point.
  #latencies: number[] = [];
  #completed = 0;
  #failed = 0;
  /** Stale answers per edge, ever. */
  readonly #stale = new Map<string, number>();
  #logs: Frame['logs'] = [];
  #applied: Action[] = [];
  #points: SeriesPoint[] = [];
  readonly #clientNames = new Set<string>([CLIENT]);

  constructor(cluster: Cluster, options: SessionOptions) {
    this.#cluster = cluster;
    this.#o = options;
    this.#pending = [...(options.replay ?? [])].sort((a, b) => a.at - b.at);
    this.#pointStart = cluster.clock.now();
    this.#gauged = new Set(cluster.nodeNames.filter((n) => {
      const m = cluster.metrics.node(n);
      return m.cores !== null || m.lag !== null;
    }));
    this.#stopListening = cluster.metrics.on((event) => this.#see(event));
    // One load-generator run per slice, started from inside the drive so that it joins it.
    cluster.clock.setInterval(() => this.#slice(), SLICE_MS);
  }

  get now(): number {
    return this.#cluster.clock.now();
  }

  get ended(): string | undefined {
    return this.#ended;
  }

  #see(event: ClusterEvent): void {
    switch (event.type) {
      case 'answered':
      case 'failed':
        if (!this.#clientNames.has(event.from)) return;
        this.#completed++;
        if (event.type === 'failed' || event.status >= 500) this.#failed++;
        this.#latencies.push(event.end - event.start);
        return;
      case 'cache':
        if (event.outcome === 'stale') this.#stale.set(event.node, (this.#stale.get(event.node) ?? 0) + 1);
        return;
      case 'log':
        this.#logs.push({ at: event.at, node: event.node, message: event.message.length > MAX_LOG_CHARS ? `${event.message.slice(0, MAX_LOG_CHARS)}…` : event.message });
        if (this.#logs.length > MAX_LOGS_PER_FRAME) this.#logs.shift();
        return;
    }
  }

  /** Starts this slice's traffic at the rate in effect (a ramp is cut into linear pieces). */
  #slice(): void {
    const traffic = this.#traffic;
    if (!traffic || this.#ended) return;
    const elapsed = this.now - traffic.since;
    const rateAt = (t: number) => ('rate' in traffic ? traffic.rate : traffic.from + (traffic.to - traffic.from) * Math.min(1, t / Math.max(1, traffic.over)));
    const from = rateAt(elapsed);
    const to = rateAt(elapsed + SLICE_MS);
    if (from <= 0 && to <= 0) return;
    const target = (): string => `http://${this.#o.entry}${expandPath(traffic.path, this.#sent++)}`;
    this.#cluster
      .load({ target, rate: from === to ? from : { from, to }, duration: SLICE_MS, interval: SLICE_MS, ...this.#sender(traffic) })
      .catch((err: unknown) => this.#end(`The traffic stopped: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Applies an act now (at a tick boundary) and records it. */
  act(act: Act): void {
    this.#apply({ ...act, at: this.now });
  }

  #apply(action: Action): void {
    if (action.type === 'traffic') {
      this.#traffic = { ...action.traffic, since: action.at };
      // Sent at once rather than from the next whole second (a slice already under way runs on).
      this.#sliceRemainder();
    } else {
      this.#fault(action.fault);
    }
    this.#applied.push(action);
  }

  /** Traffic just set: the rest of this slice is sent at the new rate, so a change shows without waiting. */
  #sliceRemainder(): void {
    const traffic = this.#traffic;
    if (!traffic) return;
    const rest = SLICE_MS - (this.now % SLICE_MS);
    const rate = 'rate' in traffic ? traffic.rate : traffic.from;
    if (rate <= 0) return;
    const target = (): string => `http://${this.#o.entry}${expandPath(traffic.path, this.#sent++)}`;
    // Outside a drive: started from a timer at this instant, so it joins the next advance.
    this.#cluster.clock.setTimeout(() => {
      this.#cluster.load({ target, rate, duration: rest, interval: rest, ...this.#sender(traffic) }).catch(() => {});
    }, 0);
  }

  /** Who sends `traffic`: a client of its region (made on first use), or the anonymous client. */
  #sender(traffic: Traffic): { clients?: string[] } {
    if (traffic.region === undefined) return {};
    const name = `client-${traffic.region}`;
    this.#cluster.client(name, { region: traffic.region });
    this.#clientNames.add(name);
    return { clients: [name] };
  }

  #fault(fault: Fault): void {
    const c = this.#cluster;
    switch (fault.op) {
      case 'kill': return c.kill(fault.node);
      case 'revive': return c.revive(fault.node);
      case 'fail': return c.fail(fault.node);
      case 'hang': return c.hang(fault.node);
      case 'recover': return c.recover(fault.node);
      case 'slow': return c.slow(fault.node, fault.ms);
      case 'slow-link': return c.link(fault.from, fault.to, { latency: fault.ms });
      case 'partition':
        this.#partitioned = new Set(fault.nodes);
        return c.partition(fault.nodes);
      case 'heal':
        this.#partitioned.clear();
        return c.heal();
      case 'region-down': return c.killRegion(fault.region);
      case 'region-up': return c.reviveRegion(fault.region);
      case 'skew': return c.skew(fault.node, { offset: fault.offset });
    }
  }

  /**
   * Lets `ms` of cluster time pass (stopping at each replayed action's time to apply it), then
   * posts a frame. Errors of the reader's code that escape the kit end the run with their message.
   */
  async tick(ms: number): Promise<void> {
    if (this.#ended) return;
    try {
      let left = Math.min(ms, MAX_VIRTUAL_MS - this.now);
      for (;;) {
        while (this.#pending.length > 0 && this.#pending[0]!.at <= this.now) this.#apply(this.#pending.shift()!);
        if (left <= 0) break;
        const step = Math.min(left, this.#pending.length > 0 ? this.#pending[0]!.at - this.now : left);
        await this.#cluster.sleep(step);
        left -= step;
      }
      if (this.now >= MAX_VIRTUAL_MS) this.#end(`The run reached its limit of ${MAX_VIRTUAL_MS / 60_000} minutes of cluster time; start it again to go on.`);
    } catch (err) {
      this.#end(`The cluster stopped: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#frame();
  }

  #end(reason: string): void {
    this.#ended ??= reason;
    this.#traffic = undefined;
  }

  /**
   * Records cumulative `values` under `key` at this instant and returns how much each grew per
   * second over about the last RATE_WINDOW_MS (less at the start of a run; zeros before any time passed).
   */
  #rates(key: string, values: number[]): { perSecond: number[]; growth: number[] } {
    const now = this.now;
    let samples = this.#history.get(key);
    if (!samples) this.#history.set(key, (samples = []));
    samples.push({ at: now, values });
    while (samples.length > 2 && samples[1]!.at <= now - RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const seconds = (now - first.at) / 1000;
    const growth = values.map((v, i) => v - first.values[i]!);
    return { growth, perSecond: growth.map((g) => (seconds > 0 ? g / seconds : 0)) };
  }

  #figures(topo: Topology['nodes'][number]): NodeFigures {
    const c = this.#cluster;
    const { name } = topo;
    const live = c.metrics.of(name);
    const gauges: Partial<NodeMetrics> = this.#gauged.has(name) ? c.metrics.node(name) : {};
    const { perSecond, growth } = this.#rates(`node:${name}`, [live.requests, live.errors, live.cacheHits, live.cacheMisses, this.#stale.get(name) ?? 0, gauges.busyTime ?? 0]);
    const [rps, errors, hitRate, missRate, staleRate, busyPerSecond] = perSecond as [number, number, number, number, number, number];
    const [, , hits, misses] = growth as [number, number, number, number];
    const isEdge = topo.role === 'edge';
    const cores = gauges.cores ?? null;
    return {
      name,
      kind: topo.kind,
      role: topo.role,
      region: topo.region,
      state: topo.state,
      partitioned: this.#partitioned.has(name),
      rps,
      errors,
      inFlight: live.inFlight,
      cpu: cores === null ? null : Math.min(1, busyPerSecond / (cores * 1000)),
      hitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
      cache: isEdge ? { hits: hitRate, misses: missRate, stale: staleRate } : null,
      queue: topo.kind === 'queue' ? (({ depth, inFlight }) => ({ depth, inFlight }))(c.queue(name).stats()) : null,
      lag: topo.role === 'replica' ? (gauges.lag ?? null) : null,
    };
  }

  #frame(): void {
    const c = this.#cluster;
    const now = this.now;
    const topology = c.topology();
    for (const client of topology.clients) this.#clientNames.add(client.name);
    const nodes = topology.nodes.map((n) => this.#figures(n));
    const links = topology.links.map((l) => {
      const { growth } = this.#rates(`link:${l.from}\u0000${l.to}`, [l.calls, l.failures]);
      return { from: l.from, to: l.to, calls: growth[0]!, failures: growth[1]! };
    });
    // A point of the chart for each whole second of cluster time passed.
    if (Math.floor(now / 1000) > Math.floor(this.#pointStart / 1000)) {
      const seconds = (now - this.#pointStart) / 1000;
      const sorted = this.#latencies.sort((a, b) => a - b);
      this.#points.push({
        t: now / 1000,
        throughput: (this.#completed - this.#failed) / seconds,
        errors: this.#failed / seconds,
        completed: this.#completed,
        failed: this.#failed,
        p50: sorted.length ? percentileOfSorted(sorted, 50) : null,
        p99: sorted.length ? percentileOfSorted(sorted, 99) : null,
      });
      this.#pointStart = now;
      this.#latencies = [];
      this.#completed = 0;
      this.#failed = 0;
    }
    const frame: Frame = {
      type: 'frame',
      run: this.#o.run,
      now,
      speed: 0,
      nodes,
      clients: topology.clients,
      links,
      points: this.#points,
      logs: this.#logs,
      actions: this.#applied,
      ...(this.#ended ? { ended: this.#ended } : {}),
    };
    this.#o.post(bounded(frame));
    this.#logs = [];
    this.#applied = [];
    this.#points = [];
  }

  stop(): void {
    this.#end('Stopped.');
    this.#stopListening();
  }
}

/** Cuts a frame's lists until its JSON fits MAX_FRAME_BYTES (a cluster of a few nodes never needs it). */
export function bounded(frame: Frame): Frame {
  let out = frame;
  let size = JSON.stringify(out).length;
  for (let keep = 256; size > MAX_FRAME_BYTES && keep >= 1; keep = Math.floor(keep / 4)) {
    out = { ...frame, links: frame.links.slice(0, keep), logs: frame.logs.slice(-Math.min(keep, 5)), points: frame.points.slice(-keep), actions: frame.actions.slice(-keep) };
    size = JSON.stringify(out).length;
  }
  return out;
}

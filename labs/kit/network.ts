/**
 * The in-memory network: which names exist, the links between them (latency, loss), partitions,
 * and the carrying of one call there and its answer back, with everything that can go wrong on the
 * way. Components hand it a `serve` function; it never looks inside a request.
 */
import type { Clock } from './clock.ts';
import { NetworkError } from './failures.ts';
import type { ClusterNode } from './node.ts';
import { deriveSeed, seededRandom } from './random.ts';
import { AWS_REGION_RTT, roundTrip, type RegionMatrix } from './regions.ts';

export interface LinkOptions {
  /** One-way latency in ms. */
  latency?: number;
  /** Probability in [0, 1] that a request on this link is lost (it hangs until its timeout). */
  drop?: number;
}

export interface NetworkOptions {
  seed: number;
  latency: number;
  networkTimeout: number;
}

/** The name requests from a test or the load generator come from. */
export const CLIENT = 'client';

const HOST_NAME = /^[a-z][a-z0-9-]*$/;

export class Network {
  readonly #clock: Clock;
  readonly #nodes = new Map<string, ClusterNode>();
  /** Names of senders outside the cluster (named clients); they send but cannot be sent to. */
  readonly #clients = new Set<string>([CLIENT]);
  readonly #links = new Map<string, LinkOptions>();
  readonly #random: () => number;
  readonly #timeout: number;
  #defaultLatency: number;
  #partition: string[][] | undefined;
  readonly #regions = new Map<string, string>();
  #regionRtt: RegionMatrix = AWS_REGION_RTT;

  constructor(clock: Clock, options: NetworkOptions) {
    this.#clock = clock;
    this.#defaultLatency = options.latency;
    this.#timeout = options.networkTimeout;
    this.#random = seededRandom(deriveSeed(options.seed, '#network'));
  }

  // ---- names -----------------------------------------------------------------------------------

  /** Gives `node` its name on the network; refuses names that are not host names or are taken. */
  add(node: ClusterNode): void {
    this.checkName(node.name);
    this.#nodes.set(node.name, node);
  }

  /** Throws unless `name` is a host name that no node has yet. */
  checkName(name: string): void {
    if (!HOST_NAME.test(name)) throw new Error(`Node name "${name}" is not a host name: use lower-case letters, digits and dashes, like "app-1".`);
    if (this.#clients.has(name)) throw new Error(`The cluster already has a client named "${name}".`);
    if (this.#nodes.has(name)) throw new Error(`The cluster already has a node named "${name}".`);
  }

  /** Gives a client outside the cluster its name on the network. */
  addClient(name: string): void {
    this.checkName(name);
    this.#clients.add(name);
  }

  /** The node answering to `name`, or undefined. */
  find(name: string): ClusterNode | undefined {
    return this.#nodes.get(name);
  }

  /** Every node, in the order they were added. */
  nodes(): ClusterNode[] {
    return [...this.#nodes.values()];
  }

  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  // ---- links and partitions --------------------------------------------------------------------

  /** Sets latency or loss on the link between two nodes, both ways. */
  link(a: string, b: string, options: LinkOptions): void {
    for (const key of [`${a}>${b}`, `${b}>${a}`]) this.#links.set(key, { ...this.#links.get(key), ...options });
  }

  /** Sets the one-way latency of every link that has none of its own. */
  setLatency(ms: number): void {
    this.#defaultLatency = ms;
  }

  /** Splits the network: nodes talk only within their group. Nodes not named form one more group. */
  partition(groups: string[][]): void {
    this.#partition = groups.map((g) => [...g]);
  }

  heal(): void {
    this.#partition = undefined;
  }

  /** Puts a node or client in a region. */
  place(name: string, region: string): void {
    this.#regions.set(name, region);
  }

  regionOf(name: string): string | undefined {
    return this.#regions.get(name);
  }

  /** Names placed in `region`. */
  inRegion(region: string): string[] {
    return [...this.#regions].filter(([, r]) => r === region).map(([name]) => name);
  }

  /** Replaces the round trips between regions (default: AWS_REGION_RTT). */
  setRegionLatency(matrix: RegionMatrix): void {
    this.#regionRtt = matrix;
  }

  /** A link's own latency; else half the round trip between two different regions; else the default. */
  #latency(from: string, to: string): number {
    const own = this.#links.get(`${from}>${to}`)?.latency;
    if (own !== undefined) return own;
    const [a, b] = [this.#regions.get(from), this.#regions.get(to)];
    if (a !== undefined && b !== undefined && a !== b) {
      const rtt = roundTrip(this.#regionRtt, a, b);
      if (rtt === undefined) throw new NetworkError('unknown-host', `${from} → ${to}: no latency known between regions ${a} and ${b}`);
      return rtt / 2;
    }
    return this.#defaultLatency;
  }

  #lost(from: string, to: string): boolean {
    const partition = this.#partition;
    if (partition) {
      const groupOf = (name: string) => partition.findIndex((g) => g.includes(name));
      if (groupOf(from) !== groupOf(to)) return true;
    }
    const drop = this.#links.get(`${from}>${to}`)?.drop ?? 0;
    return drop > 0 && this.#random() < drop;
  }

  // ---- carrying a call -------------------------------------------------------------------------

  /** Carries one call from `from` to `to` and its answer back, with everything the network does on the way. */
  async deliver<T>(
    from: string,
    to: string,
    signal: AbortSignal | undefined,
    serve: (node: ClusterNode, connection: HeldConnection) => Promise<T>,
    options: { connected?: boolean } = {},
  ): Promise<T> {
    const node = this.#nodes.get(to);
    if (!node) throw new NetworkError('unknown-host', `${from} → ${to}: no node named "${to}" in this cluster (nodes: ${this.names.join(', ')})`);
    signal?.throwIfAborted();
    if (this.#lost(from, to)) {
      // A lost request is never answered: the caller waits until its own timeout, or the network's.
      await this.#clock.sleep(this.#timeout, signal);
      throw new NetworkError('timeout', `${from} → ${to}: no answer after ${this.#timeout} ms (the request was lost: partition or dropped packet)`);
    }
    const there = this.#latency(from, to);
    if (there > 0) await this.#clock.sleep(there, signal);
    if (node.state === 'killed') throw new NetworkError('refused', `${from} → ${to}: connection refused (${to} is down)`);
    // A call on a connection already open (a database transaction) takes no new one.
    const admitted = options.connected ? { release: () => {} } : node.capacity.admit();
    if ('refused' in admitted) throw new NetworkError('refused', `${from} → ${to}: connection refused (${admitted.refused})`);
    let kept = false;
    const connection: HeldConnection = {
      keep: () => {
        kept = true;
        return admitted.release;
      },
    };
    const life = node.life;
    let answer: T;
    try {
      await this.#whileHung(node, from, signal);
      answer = await raceAbort(serve(node, connection), life, signal);
      // A slow node's answer leaves late; a node that hung meanwhile keeps it.
      if (node.delay > 0) await raceAbort(this.#clock.sleep(node.delay, signal), life);
      await this.#whileHung(node, from, signal);
    } finally {
      if (!kept) admitted.release();
    }
    const back = this.#latency(to, from);
    if (back > 0) await this.#clock.sleep(back, signal);
    life.throwIfAborted();
    return answer;
  }

  /** Holds a call while `node` is hung: until it recovers, goes down, the caller gives up, or the network times out. */
  async #whileHung(node: ClusterNode, from: string, signal: AbortSignal | undefined): Promise<void> {
    const unhung = node.unhung;
    if (!unhung) return;
    const giveUp = new AbortController();
    const timedOut = this.#clock.sleep(this.#timeout, AbortSignal.any(signal ? [signal, giveUp.signal] : [giveUp.signal])).then(() => {
      throw new NetworkError('timeout', `${from} → ${node.name}: no answer after ${this.#timeout} ms (${node.name} accepted the connection but does not answer)`);
    });
    try {
      await raceAbort(Promise.race([unhung, timedOut]), node.life, signal);
    } finally {
      giveUp.abort();
      timedOut.catch(() => {});
    }
  }
}

/** The connection a call came on: `keep()` holds it open after the call (until the returned release is called). */
export interface HeldConnection {
  keep(): () => void;
}

/** Resolves or rejects with `work`, unless a signal aborts first. */
function raceAbort<T>(work: Promise<T>, ...signals: (AbortSignal | undefined)[]): Promise<T> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.length === 0) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (event: Event) => {
      cleanup();
      reject((event.target as AbortSignal).reason);
    };
    const cleanup = () => live.forEach((s) => s.removeEventListener('abort', onAbort));
    for (const s of live) {
      if (s.aborted) return reject(s.reason);
      s.addEventListener('abort', onAbort, { once: true });
    }
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

/**
 * A replicated database: one primary and N replicas, each a database node of its own. Every commit
 * on the primary gets a log position; each replica receives the log over its link and applies it on
 * its own cores, so its lag is the link's latency plus the apply time, and grows under write bursts.
 * Writes are replayed with the time and random numbers the primary saw, so replicas hold the same
 * rows. With `sync: K`, the primary acknowledges a commit only once K replicas have received it.
 */
import type { LoggedStatement } from '../sql.ts';
import type { NodeEnv } from '../node.ts';
import type { DatabaseNode } from './sql-database.ts';

export interface ReplicationOptions {
  /** The replicas' names, or how many (named `<primary>-replica-1`, …). */
  replicas: number | string[];
  /** Semi-synchronous: a commit is acknowledged once this many replicas have received it (default 0: asynchronous). */
  sync?: number;
  /** CPU time a replica spends applying one write, in ms (default: the database's cost per statement). */
  applyCost?: number;
  /** How long a primary waits before sending again to a replica it could not reach, in ms (default 1,000). */
  retry?: number;
}

interface Entry {
  position: number;
  writes: LoggedStatement[];
  /** Cluster time of the commit on the primary. */
  committedAt: number;
}

/** What a member of the group reports. */
export interface ReplicaStatus {
  node: string;
  role: 'primary' | 'replica';
  /** The primary this replica follows; undefined for a primary. */
  primary: string | undefined;
  /** Last log position received (a primary: its last commit). */
  received: number;
  /** Last log position applied to its data. */
  applied: number;
  /** ms since the oldest commit this replica has not applied yet was made on its primary (0 when caught up). */
  lag: number;
  paused: boolean;
}

class Member {
  readonly node: DatabaseNode;
  /** The primary's commits, or what a replica received of them, in order. */
  log: Entry[] = [];
  applied = 0;
  paused = false;
  applying = false;
  /** Positions up to this one are on their way (or arrived); after a failed send, back to `received`. */
  sent = 0;
  /** Waiting to send again after a failure. */
  retrying = false;
  /** Last position its primary knows it received (the answer to a send came back). */
  acknowledged = 0;
  /** The member this one follows; undefined for a primary (the current one or a deposed one). */
  source: Member | undefined;

  constructor(node: DatabaseNode) {
    this.node = node;
  }

  get received(): number {
    return this.log.length;
  }
}

export class ReplicationGroup {
  readonly name: string;
  readonly #env: NodeEnv;
  readonly #members = new Map<string, Member>();
  readonly #sync: number;
  readonly #applyCost: number;
  readonly #retry: number;
  #primary: Member;
  readonly #acks: { position: number; primary: Member; done: () => void }[] = [];

  constructor(env: NodeEnv, primary: DatabaseNode, replicas: DatabaseNode[], options: ReplicationOptions) {
    this.name = primary.name;
    this.#env = env;
    this.#sync = options.sync ?? 0;
    if (!Number.isInteger(this.#sync) || this.#sync < 0 || this.#sync > replicas.length) {
      throw new Error(`sync must be a whole number of replicas from 0 to ${replicas.length}, not ${options.sync}.`);
    }
    this.#applyCost = options.applyCost ?? primary.cost;
    this.#retry = options.retry ?? 1_000;
    this.#primary = this.#member(primary);
    this.#lead(this.#primary);
    for (const node of replicas) this.#follow(this.#member(node), this.#primary);
  }

  #member(node: DatabaseNode): Member {
    const member = new Member(node);
    this.#members.set(node.name, member);
    node.acknowledge = (position) => this.#acknowledged(member, position);
    node.onRevive(() => {
      this.#applyNext(member);
      for (const follower of this.#followers(member)) this.#send(member, follower);
    });
    return member;
  }

  /** The current primary's name. */
  get primary(): string {
    return this.#primary.node.name;
  }

  /** Every member's positions, primary first. */
  status(): ReplicaStatus[] {
    const now = this.#env.clock.now();
    return [...this.#members.values()]
      .sort((a, b) => Number(b === this.#primary) - Number(a === this.#primary))
      .map((m) => {
        const pending = m.source?.log[m.applied];
        return {
          node: m.node.name,
          role: m.source ? 'replica' : 'primary',
          primary: m.source?.node.name,
          received: m.received,
          applied: m.applied,
          lag: m.source && pending ? now - pending.committedAt : 0,
          paused: m.paused,
        };
      });
  }

  /** Stops a replica applying what it receives (it keeps receiving): a lag spike on demand. */
  pause(replica: string): void {
    this.#replica(replica).paused = true;
  }

  resume(replica: string): void {
    const member = this.#replica(replica);
    member.paused = false;
    this.#applyNext(member);
  }

  /**
   * Makes a replica the primary: it applies what it received, accepts writes, and the other
   * replicas follow it. What it never received from the old primary is lost to the group. The old
   * primary, if it comes back, is as it was: a primary of its own, still taking writes.
   */
  promote(replica: string): void {
    const next = this.#replica(replica);
    const previous = this.#primary;
    for (; next.applied < next.received; next.applied++) next.node.wal.apply(next.log[next.applied]!.writes);
    next.paused = false;
    next.source = undefined;
    this.#lead(next);
    this.#primary = next;
    for (const member of this.#members.values()) {
      if (member === next || member.source === undefined) continue;
      // A replica keeps what it shares with the new primary and forgets what the new primary never had.
      if (member.log.length > next.log.length) member.log = member.log.slice(0, Math.max(member.applied, next.log.length));
      this.#follow(member, next);
    }
    this.#env.metrics.emit({ type: 'promotion', at: this.#env.clock.now(), node: next.node.name, previous: previous.node.name });
  }

  #replica(name: string): Member {
    const member = this.#members.get(name);
    if (!member) throw new Error(`${name} is not in the replicated database ${this.name} (members: ${[...this.#members.keys()].join(', ')}).`);
    if (!member.source) throw new Error(`${name} is a primary, not a replica.`);
    return member;
  }

  #followers(member: Member): Member[] {
    return [...this.#members.values()].filter((m) => m.source === member);
  }

  /** Makes `member` take writes and log its commits. */
  #lead(member: Member): void {
    const wal = member.node.wal;
    wal.readOnly = false;
    wal.onCommit = (writes) => {
      const entry: Entry = { position: member.log.length + 1, writes, committedAt: this.#env.clock.now() };
      member.log.push(entry);
      member.applied = entry.position;
      for (const follower of this.#followers(member)) this.#send(member, follower);
      return entry.position;
    };
  }

  #follow(member: Member, source: Member): void {
    member.source = source;
    member.acknowledged = Math.min(member.acknowledged, member.received);
    member.sent = member.received;
    member.node.wal.readOnly = true;
    member.node.wal.onCommit = undefined;
    this.#send(source, member);
  }

  /**
   * Streams what `to` has not been sent of `from`'s log, without waiting for earlier sends to be
   * answered; after a failure (replica down, partition), sends again from what it received.
   */
  #send(from: Member, to: Member): void {
    if (to.retrying || to.source !== from || to.sent >= from.log.length) return;
    const batch = from.log.slice(to.sent);
    to.sent = from.log.length;
    const last = to.sent;
    const { network, clock } = this.#env;
    network.deliver(from.node.name, to.node.name, undefined, async () => this.#receive(to, from, batch)).then(
      () => {
        if (to.source === from) this.#acknowledge(from, to, Math.min(to.received, last));
      },
      () => {
        if (to.retrying || to.source !== from) return;
        to.retrying = true;
        to.sent = to.received;
        clock.setTimeout(() => {
          to.retrying = false;
          this.#send(from, to);
        }, this.#retry);
      },
    );
  }

  #receive(member: Member, from: Member, batch: Entry[]): void {
    // A batch still on the wire when its sender went down is lost with the connection.
    if (member.source !== from || from.node.state === 'killed') throw new Error('replication stream reset');
    for (const entry of batch) if (entry.position === member.log.length + 1) member.log.push(entry);
    this.#emit(member);
    this.#applyNext(member);
  }

  /** The primary learns that `follower` received up to `position`: commits waiting for enough replicas go on. */
  #acknowledge(primary: Member, follower: Member, position: number): void {
    follower.acknowledged = Math.max(follower.acknowledged, position);
    for (const ack of [...this.#acks]) {
      if (ack.primary === primary && this.#receivedBy(primary, ack.position) >= this.#sync) {
        this.#acks.splice(this.#acks.indexOf(ack), 1);
        ack.done();
      }
    }
  }

  /** How many of `primary`'s followers it knows have received `position`. */
  #receivedBy(primary: Member, position: number): number {
    return this.#followers(primary).filter((m) => m.acknowledged >= position).length;
  }

  /** Applies received entries one at a time on the replica's cores, unless paused. */
  #applyNext(member: Member): void {
    if (member.applying || member.paused || !member.source || member.applied >= member.received || member.node.state === 'killed') return;
    const entry = member.log[member.applied]!;
    member.applying = true;
    member.node.work(this.#applyCost * entry.writes.length).then(
      () => {
        member.applying = false;
        if (member.log[member.applied] !== entry) return this.#applyNext(member);
        try {
          member.node.wal.apply(entry.writes);
        } catch (err) {
          // Like a replica whose SQL thread stops on an error: it stays paused until resumed.
          member.paused = true;
          this.#env.log(member.node.name, `replication stopped at position ${entry.position}: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        member.applied++;
        this.#emit(member);
        this.#applyNext(member);
      },
      () => {
        // The replica went down mid-apply: it resumes when revived.
        member.applying = false;
      },
    );
  }

  /** Resolves once `sync` replicas following `primary` have received `position`. */
  #acknowledged(primary: Member, position: number): Promise<void> {
    if (this.#sync === 0 || primary.source) return Promise.resolve();
    if (this.#receivedBy(primary, position) >= this.#sync) return Promise.resolve();
    return new Promise((done) => this.#acks.push({ position, primary, done }));
  }

  #emit(member: Member): void {
    this.#env.metrics.emit({
      type: 'replication', at: this.#env.clock.now(), node: member.node.name, primary: member.source?.node.name ?? member.node.name, received: member.received, applied: member.applied,
    });
  }
}

/**
 * Queues with the semantics of Amazon SQS (standard queues, in send order): send with an optional
 * delay; receive up to N with a visibility timeout and a long-poll wait; delete with the receipt of
 * the latest receive; change visibility; a receive count on every message; redrive to a dead-letter
 * queue after too many receives. A consumer that dies mid-job leaves its messages invisible until
 * the timeout, then they are delivered again. Topics fan a message out to several queues. Times are
 * in ms, like the rest of the kit (SQS counts seconds).
 */
import { Capacity } from '../capacity.ts';
import { withLimits, type CallOptions } from '../failures.ts';
import { ClusterNode, type NodeEnv } from '../node.ts';

export interface QueueOptions {
  /** How long a received message stays invisible to other receivers, in ms (default 30,000, as SQS). */
  visibilityTimeout?: number;
  /** After this many receives, a message goes to `deadLetter` instead of being delivered again. */
  maxReceives?: number;
  /** The queue that takes messages received `maxReceives` times (it must be added too). */
  deadLetter?: string;
  /** CPU time one operation costs the broker, in ms (default 1). */
  cost?: number;
}

/** A message as a receiver gets it. */
export interface QueueMessage {
  id: string;
  body: string;
  /** Proof of this receive: delete and changeVisibility need the latest one. */
  receipt: string;
  /** How many times it was received, this time included. */
  receiveCount: number;
  /** Cluster time it was sent. */
  sentAt: number;
}

export interface ReceiveOptions {
  /** Most messages to take, 1 to 10 (default 1). */
  max?: number;
  /** This receive's visibility timeout in ms (default: the queue's). */
  visibilityTimeout?: number;
  /** Long poll: wait up to this many ms for a message when none is visible (default 0). */
  wait?: number;
}

/** What a node holds as `ctx.queue(name)`: every call is a round trip to the broker. */
export interface QueueClient {
  /** Adds a message, visible after `delay` ms (default 0); resolves to its id. */
  send(body: string, options?: { delay?: number }): Promise<string>;
  /** Takes up to `max` visible messages, hiding them for the visibility timeout; [] when none came in `wait` ms. */
  receive(options?: ReceiveOptions): Promise<QueueMessage[]>;
  /** Acknowledges a message. False when the receipt is not the latest (the message was received again since): it is not deleted. */
  delete(receipt: string): Promise<boolean>;
  /** Makes a received message visible again after `ms` from now (0: at once). Fails when the receipt is not the latest. */
  changeVisibility(receipt: string, ms: number): Promise<void>;
}

/** A queue's gauges and counters. */
export interface QueueStats {
  /** Messages visible now, waiting for a receiver. */
  depth: number;
  /** Received and not yet deleted nor visible again. */
  inFlight: number;
  /** Sent with a delay that has not passed. */
  delayed: number;
  /** Age of the oldest message not deleted, in ms (0 when empty). */
  oldestAge: number;
  sent: number;
  received: number;
  deleted: number;
  /** Moved to the dead-letter queue. */
  deadLettered: number;
}

interface Stored {
  id: string;
  body: string;
  sentAt: number;
  /** Invisible until then (a delay, or a receive's visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  /** The receipt of the latest receive. */
  receipt: string | undefined;
}

export class QueueError extends Error {
  readonly code: 'ReceiptHandleIsInvalid' | 'InvalidParameterValue' | 'QueueDoesNotExist';

  constructor(code: QueueError['code'], message: string) {
    super(message);
    this.name = 'QueueError';
    this.code = code;
  }
}

export class QueueNode extends ClusterNode {
  readonly kind = 'queue';
  readonly cost: number;
  readonly #env: NodeEnv;
  readonly #visibility: number;
  readonly #redrive: { maxReceives: number; deadLetter: string } | undefined;
  #messages: Stored[] = [];
  #seq = 0;
  readonly #pollers = new Set<() => void>();
  readonly #counts = { sent: 0, received: 0, deleted: 0, deadLettered: 0 };

  constructor(name: string, env: NodeEnv, options: QueueOptions) {
    super(name, new Capacity(env.clock));
    this.#env = env;
    this.cost = options.cost ?? 1;
    this.#visibility = options.visibilityTimeout ?? 30_000;
    const { maxReceives, deadLetter } = options;
    if (maxReceives !== undefined && !(Number.isInteger(maxReceives) && maxReceives >= 1)) {
      throw new Error(`maxReceives must be a whole number of at least 1, not ${maxReceives}.`);
    }
    if ((maxReceives === undefined) !== (deadLetter === undefined)) throw new Error(`A redrive needs both maxReceives and deadLetter (queue ${name}).`);
    this.#redrive = maxReceives !== undefined && deadLetter !== undefined ? { maxReceives, deadLetter } : undefined;
  }

  /** Wakes long-polling receivers when a message may have become visible at `at`. */
  #wakeAt(at: number): void {
    const { clock } = this.#env;
    const wake = () => {
      for (const poller of [...this.#pollers]) poller();
    };
    if (at <= clock.now()) wake();
    else clock.setTimeout(wake, at - clock.now());
  }

  /** `from`: the node that sent it, named in the event stream. */
  send(body: string, delay = 0, from?: string): string {
    if (typeof body !== 'string') throw new QueueError('InvalidParameterValue', `a message body is a string (JSON.stringify objects), not ${typeof body}`);
    if (!(delay >= 0)) throw new QueueError('InvalidParameterValue', `delay must be a number of ms ≥ 0, not ${delay}`);
    const now = this.#env.clock.now();
    const id = `${this.name}-${++this.#seq}`;
    this.#messages.push({ id, body, sentAt: now, visibleAt: now + delay, receiveCount: 0, receipt: undefined });
    this.#counts.sent++;
    this.#emit('send', id, from);
    this.#wakeAt(now + delay);
    return id;
  }

  /** Takes what is visible now (no waiting). */
  take(max: number, visibilityTimeout: number, from?: string): QueueMessage[] {
    const now = this.#env.clock.now();
    const taken: QueueMessage[] = [];
    for (const m of [...this.#messages]) {
      if (taken.length >= max) break;
      if (m.visibleAt > now) continue;
      if (this.#redrive && m.receiveCount >= this.#redrive.maxReceives) {
        this.#deadLetter(m, this.#redrive.deadLetter);
        continue;
      }
      m.receiveCount++;
      m.receipt = `${m.id}#${m.receiveCount}`;
      m.visibleAt = now + visibilityTimeout;
      this.#counts.received++;
      this.#emit('receive', m.id, from);
      this.#wakeAt(m.visibleAt);
      taken.push({ id: m.id, body: m.body, receipt: m.receipt, receiveCount: m.receiveCount, sentAt: m.sentAt });
    }
    return taken;
  }

  #deadLetter(m: Stored, name: string): void {
    const target = this.#env.network.find(name);
    if (!(target instanceof QueueNode)) throw new QueueError('QueueDoesNotExist', `the dead-letter queue "${name}" of ${this.name} does not exist`);
    this.#messages.splice(this.#messages.indexOf(m), 1);
    this.#counts.deadLettered++;
    this.#emit('dead-letter', m.id);
    target.send(m.body, 0, this.name);
  }

  /** Receives, waiting up to `wait` ms for a message when none is visible. */
  async receive(options: ReceiveOptions, from?: string): Promise<QueueMessage[]> {
    const max = options.max ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) throw new QueueError('InvalidParameterValue', `max must be a whole number from 1 to 10, not ${max}`);
    const visibility = options.visibilityTimeout ?? this.#visibility;
    const { clock } = this.#env;
    const deadline = clock.now() + (options.wait ?? 0);
    for (;;) {
      const taken = this.take(max, visibility, from);
      if (taken.length > 0 || clock.now() >= deadline) return taken;
      const life = this.life;
      await new Promise<void>((resolve) => {
        const done = () => {
          cancel();
          this.#pollers.delete(done);
          life.removeEventListener('abort', done);
          resolve();
        };
        const cancel = clock.setTimeout(done, deadline - clock.now());
        this.#pollers.add(done);
        life.addEventListener('abort', done, { once: true });
      });
      life.throwIfAborted();
    }
  }

  #latest(receipt: string): Stored | undefined {
    return this.#messages.find((m) => m.receipt === receipt);
  }

  delete(receipt: string, from?: string): boolean {
    const m = this.#latest(receipt);
    if (!m) return false;
    this.#messages.splice(this.#messages.indexOf(m), 1);
    this.#counts.deleted++;
    this.#emit('delete', m.id, from);
    return true;
  }

  changeVisibility(receipt: string, ms: number): void {
    const m = this.#latest(receipt);
    if (!m || m.visibleAt <= this.#env.clock.now()) {
      throw new QueueError('ReceiptHandleIsInvalid', `receipt ${receipt} is not the latest receive of an in-flight message (it was received again, deleted, or became visible)`);
    }
    if (!(ms >= 0)) throw new QueueError('InvalidParameterValue', `visibility must be a number of ms ≥ 0, not ${ms}`);
    m.visibleAt = this.#env.clock.now() + ms;
    this.#wakeAt(m.visibleAt);
  }

  stats(): QueueStats {
    const now = this.#env.clock.now();
    const inFlight = this.#messages.filter((m) => m.receipt !== undefined && m.visibleAt > now).length;
    const delayed = this.#messages.filter((m) => m.receipt === undefined && m.visibleAt > now).length;
    const oldest = this.#messages.reduce((min, m) => Math.min(min, m.sentAt), Infinity);
    return { depth: this.#messages.length - inFlight - delayed, inFlight, delayed, oldestAge: Number.isFinite(oldest) ? now - oldest : 0, ...this.#counts };
  }

  /** The bodies of every message not deleted, in send order (for tests). */
  bodies(): string[] {
    return this.#messages.map((m) => m.body);
  }

  #emit(op: 'send' | 'receive' | 'delete' | 'dead-letter', id: string, from?: string): void {
    if (this.#env.metrics.listening) this.#env.metrics.emit({ type: 'queue', at: this.#env.clock.now(), node: this.name, op, id, ...(from !== undefined ? { by: from } : {}) });
  }
}

/** A topic: each message published is sent to every subscribed queue. */
export class TopicNode extends ClusterNode {
  readonly kind = 'topic';
  readonly subscribers: string[];

  constructor(name: string, env: NodeEnv, subscribers: string[]) {
    super(name, new Capacity(env.clock));
    this.subscribers = [...subscribers];
  }
}

function nodeOf<N extends ClusterNode>(env: NodeEnv, name: string, asker: string, kind: new (...args: never[]) => N, what: string): N {
  const node = env.network.find(name);
  if (!(node instanceof kind)) throw new Error(`${asker}: this cluster has no ${what} named "${name}".`);
  return node;
}

export const queueNode = (env: NodeEnv, name: string, asker: string) => nodeOf(env, name, asker, QueueNode, 'queue');
export const topicNode = (env: NodeEnv, name: string, asker: string) => nodeOf(env, name, asker, TopicNode, 'topic');

/** The client `from` holds for the queue `name`: each call crosses the network and costs the broker time. */
export function queueClient(env: NodeEnv, from: string, name: string, limits: CallOptions = {}): QueueClient {
  const node = queueNode(env, name, from);
  const { clock, network } = env;
  const call = <T>(serve: () => T | Promise<T>): Promise<T> =>
    withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async () => {
      if (node.cost > 0) await node.work(node.cost);
      return serve();
    }));
  return {
    send: (body, options) => call(() => node.send(body, options?.delay, from)),
    receive: (options = {}) => call(() => node.receive(options, from)),
    delete: (receipt) => call(() => node.delete(receipt, from)),
    changeVisibility: (receipt, ms) => call(() => node.changeVisibility(receipt, ms)),
  };
}

/** What a node holds as `ctx.topic(name)`. */
export interface TopicClient {
  /** Sends `body` to every subscribed queue; resolves once the topic has accepted it, to the number of queues. */
  publish(body: string): Promise<number>;
}

export function topicClient(env: NodeEnv, from: string, name: string, limits: CallOptions = {}): TopicClient {
  const node = topicNode(env, name, from);
  const { clock, network } = env;
  return {
    publish: (body) => withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async () => {
      // Delivery to each queue goes on after the topic answers (SNS acknowledges, then fans out).
      for (const queue of node.subscribers) {
        void queueClient(env, name, queue).send(body).catch((err: unknown) => env.log(name, `could not deliver to ${queue}: ${err instanceof Error ? err.message : String(err)}`));
      }
      return node.subscribers.length;
    })),
  };
}

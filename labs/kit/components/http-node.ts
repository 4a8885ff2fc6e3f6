/**
 * HTTP nodes: a web-standard handler built by a factory, so that restarting a node runs the factory
 * again and really wipes its memory; and `fetch` between nodes by host name.
 */
import type { NodeContext } from '../context.ts';
import { Capacity, type CapacityOptions } from '../capacity.ts';
import { ClusterNode, messageOf, type NodeEnv } from '../node.ts';

/** A node: answers requests the way `fetch` handlers do in Hono, Workers or Deno.serve. */
export type Handler = (req: Request, ctx: NodeContext) => Response | Promise<Response>;
/** Builds a node's handler; run again on every restart, so anything it keeps in memory is wiped. */
export type NodeFactory = (ctx: NodeContext) => Handler;

/** How a request crosses the last hop: in memory by default, over real HTTP when served on ports. */
export interface Transport {
  send(to: string, request: Request, from: string): Promise<Response>;
}

export class HttpNode extends ClusterNode {
  readonly kind = 'http';
  /** The status `fail()` answers with. */
  failStatus = 500;
  readonly #env: NodeEnv;
  readonly #factory: NodeFactory;
  readonly #contextOf: (node: HttpNode) => NodeContext;
  /** The context and handler of the current life. */
  #running: { ctx: NodeContext; handler: Handler };

  constructor(name: string, factory: NodeFactory, env: NodeEnv, contextOf: (node: HttpNode) => NodeContext, capacity: CapacityOptions = {}) {
    super(name, new Capacity(env.clock, capacity));
    this.#env = env;
    this.#factory = factory;
    this.#contextOf = contextOf;
    this.#running = this.#boot();
  }

  protected override started(): void {
    this.#running = this.#boot();
  }

  /** A fresh context and the factory run on it: on add, and again on every revive. */
  #boot(): { ctx: NodeContext; handler: Handler } {
    const ctx = this.#contextOf(this);
    let handler: unknown;
    try {
      handler = this.#factory(ctx);
    } catch (err) {
      throw new Error(`${this.name} failed to start: ${messageOf(err)}`, { cause: err });
    }
    if (typeof handler !== 'function') {
      throw new Error(`${this.name} failed to start: its factory must return a handler function (req, ctx) => Response, not ${typeof handler}.`);
    }
    return { ctx, handler: handler as Handler };
  }

  /** Answers every request with `status` without running the node's code. */
  fail(status: number): void {
    this.recover();
    this.state = 'failing';
    this.failStatus = status;
  }

  /** Runs the handler on a request and counts it; used by in-memory delivery and by the node:http adapter. */
  async handle(request: Request, from: string): Promise<Response> {
    const { clock, metrics } = this.#env;
    const m = metrics.of(this.name);
    const start = clock.now();
    m.requests++;
    m.inFlight++;
    let response: Response;
    try {
      if (this.state === 'failing') {
        response = new Response(`${this.name} is failing (injected fault)`, { status: this.failStatus });
      } else {
        const { handler, ctx } = this.#running;
        const result: unknown = await handler(request, ctx);
        response = result instanceof Response
          ? result
          : new Response(`${this.name}: the handler returned ${result === undefined ? 'nothing' : typeof result}, not a Response`, { status: 500 });
      }
    } catch (err) {
      this.#env.log(this.name, `error: ${messageOf(err)}`);
      response = new Response(`${this.name}: ${messageOf(err)}`, { status: 500 });
    } finally {
      m.inFlight--;
    }
    const latency = clock.now() - start;
    m.latencies.push(latency);
    if (response.status >= 500) m.errors++;
    const url = new URL(request.url);
    metrics.emit({ type: 'request', at: clock.now(), from, node: this.name, method: request.method, path: url.pathname, status: response.status, latency });
    return response;
  }
}

/** `fetch` from one name of the cluster to an HTTP node, over the network and the current transport. */
export class HttpRouter {
  readonly #env: NodeEnv;
  transport: Transport | undefined;

  constructor(env: NodeEnv) {
    this.#env = env;
  }

  /** The HTTP node named `name`, for requests from `from`. */
  node(name: string, from: string): HttpNode {
    const node = this.#env.network.find(name);
    if (!node) throw new Error(`This cluster has no node named "${name}" (nodes: ${this.#env.network.names.join(', ')}).`);
    if (!(node instanceof HttpNode)) throw new TypeError(`${from} → ${name}: ${name} is not an HTTP node; use ctx.kv or ctx.db`);
    return node;
  }

  fetch(from: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let request: Request;
    try {
      request = input instanceof Request && init === undefined ? input : new Request(input, init);
    } catch (err) {
      return Promise.reject(new TypeError(`${from}: bad request to ${String(input)}: ${messageOf(err)}`));
    }
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const to = new URL(request.url).hostname;
    return this.#env.network.deliver(from, to, signal, (node) => {
      if (!(node instanceof HttpNode)) throw new TypeError(`${from} → ${to}: ${to} is not an HTTP node; use ctx.kv or ctx.db`);
      return this.transport ? this.transport.send(to, request, from) : node.handle(request, from);
    });
  }
}

/**
 * Makes the browser's Request and Response behave as Node's (undici) do for in-memory traffic,
 * which is all a lab cluster has: its requests travel between simulated nodes, never on a network.
 * Installed in the test Worker only (it changes globals); in Node it is not needed.
 *
 * 1. Headers. Browsers drop "forbidden" headers from Requests and Responses a script builds:
 *    `new Response(body, { headers: { 'set-cookie': … } })` loses Set-Cookie, and a Request loses
 *    Cookie, Host, Date, Via, Origin, Referer… Node keeps them, and a session cookie must reach the
 *    app server. A standalone Headers object keeps everything, so an object that lost a header gets
 *    a full copy, returned by its `headers` getter.
 *
 * 2. Bodies. Blink reads even an in-memory body (a string, bytes) through its loader, which may
 *    take several tasks, e.g. `request.clone().arrayBuffer()`; undici needs only microtasks. The
 *    cluster's virtual clock decides that work is stuck when a few macrotasks pass with nothing
 *    scheduled, so in the browser a verdict could depend on the browser's task scheduling. Bodies
 *    given as a string, bytes or URLSearchParams are therefore kept and read here, in microtasks,
 *    with undici's rules and messages for a body read twice. Other bodies (streams, Blob, FormData)
 *    are left to the browser.
 *
 * The constructors keep the native prototypes, so `instanceof` and every other method still work.
 */

const installed = Symbol.for('scale-lab.fetch-parity');

type Owner = Request | Response;

interface BodyState {
  /** The body's bytes; null when there is no body. */
  bytes: Uint8Array | null;
  used: boolean;
}

/** undici's message for a body read twice, so the reader sees in the browser what Node says. */
const BODY_USED = 'Body is unusable: Body has already been read';

export function installFetchParity(scope: typeof globalThis = globalThis): void {
  const g = scope as typeof globalThis & { [installed]?: boolean };
  if (g[installed]) return;
  g[installed] = true;

  const NativeRequest = scope.Request;
  const NativeResponse = scope.Response;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const fullHeaders = new WeakMap<Owner, Headers>();
  const bodies = new WeakMap<Owner, BodyState>();
  /** The browser's own accessors and methods, by prototype. */
  const natives = new Map<object, { headers: () => Headers; body: () => ReadableStream | null; bodyUsed: () => boolean; clone: () => Owner }>();

  // ---- headers -----------------------------------------------------------------------------------

  /** Records the full headers of `owner` when the browser dropped some of `wanted`. */
  function keepHeaders(owner: Owner, wanted: HeadersInit | undefined | null, proto: object): void {
    if (wanted === undefined || wanted === null) return;
    const all = new Headers(wanted);
    const actual = natives.get(proto)!.headers.call(owner);
    let dropped = false;
    for (const name of all.keys()) {
      if (!actual.has(name)) {
        dropped = true;
        break;
      }
    }
    if (!dropped) return;
    // The browser's own headers first (e.g. the content-type it derives from the body), then what it dropped.
    const merged = new Headers(actual);
    for (const [name, value] of all) if (!actual.has(name)) merged.append(name, value);
    fullHeaders.set(owner, merged);
  }

  // ---- bodies ------------------------------------------------------------------------------------

  /** The bytes of a body this shim can keep; undefined for kinds left to the browser. */
  function bytesOf(body: BodyInit | null | undefined): Uint8Array | null | undefined {
    if (body === null || body === undefined) return null;
    if (typeof body === 'string') return encoder.encode(body);
    if (body instanceof URLSearchParams) return encoder.encode(body.toString());
    // Copied, as the browser does: later changes to the caller's buffer do not change the body.
    if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    return undefined;
  }

  function keepBody(owner: Owner, bytes: Uint8Array | null | undefined): void {
    if (bytes !== undefined) bodies.set(owner, { bytes, used: false });
  }

  /** Takes the body for one read, or undefined when the browser handles this object's body. */
  function take(owner: Owner): Uint8Array | undefined | Error {
    const state = bodies.get(owner);
    if (!state) return undefined;
    if (state.used) return new TypeError(BODY_USED);
    state.used = true;
    return state.bytes ?? new Uint8Array(0);
  }

  function readAs<T>(name: 'text' | 'json' | 'arrayBuffer' | 'bytes' | 'blob', convert: (bytes: Uint8Array, owner: Owner) => T) {
    return function (this: Owner): Promise<T> {
      const bytes = take(this);
      if (bytes === undefined) return nativeRead(this, name) as Promise<T>;
      if (bytes instanceof Error) return Promise.reject(bytes);
      try {
        return Promise.resolve(convert(bytes, this));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }

  const nativeReads = new Map<object, Record<string, (this: Owner) => Promise<unknown>>>();
  function nativeRead(owner: Owner, name: string): Promise<unknown> {
    const proto = owner instanceof NativeRequest ? NativeRequest.prototype : NativeResponse.prototype;
    return nativeReads.get(proto)![name]!.call(owner);
  }

  // ---- the prototypes ----------------------------------------------------------------------------

  function patch(proto: Request | Response): void {
    const descriptor = (name: string) => Object.getOwnPropertyDescriptor(proto, name)!;
    const own = {
      headers: descriptor('headers').get! as () => Headers,
      body: descriptor('body').get! as () => ReadableStream | null,
      bodyUsed: descriptor('bodyUsed').get! as () => boolean,
      clone: descriptor('clone').value as () => Owner,
    };
    natives.set(proto, own);
    const reads: Record<string, (this: Owner) => Promise<unknown>> = {};
    for (const name of ['text', 'json', 'arrayBuffer', 'bytes', 'blob']) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (d && typeof d.value === 'function') reads[name] = d.value as (this: Owner) => Promise<unknown>;
    }
    nativeReads.set(proto, reads);

    const define = (name: string, value: PropertyDescriptor) => Object.defineProperty(proto, name, { configurable: true, enumerable: true, ...value });
    define('headers', {
      get(this: Owner) {
        return fullHeaders.get(this) ?? own.headers.call(this);
      },
    });
    define('bodyUsed', {
      get(this: Owner) {
        return bodies.get(this)?.used ?? own.bodyUsed.call(this);
      },
    });
    define('body', {
      get(this: Owner) {
        const state = bodies.get(this);
        if (state?.bytes === null) return null;
        // Whoever takes the stream reads it the browser's way from now on.
        if (state && !state.used) bodies.delete(this);
        return own.body.call(this);
      },
    });
    define('clone', {
      writable: true,
      value: function (this: Owner) {
        const state = bodies.get(this);
        if (state?.used) throw new TypeError(`${this instanceof NativeRequest ? 'Request' : 'Response'}.clone: Body has already been consumed.`);
        const copy = own.clone.call(this);
        if (state) bodies.set(copy, { bytes: state.bytes, used: false });
        const headers = fullHeaders.get(this);
        if (headers) fullHeaders.set(copy, new Headers(headers));
        return copy;
      },
    });
    define('text', { writable: true, value: readAs('text', (bytes) => decoder.decode(bytes)) });
    define('json', { writable: true, value: readAs('json', (bytes) => JSON.parse(decoder.decode(bytes)) as unknown) });
    define('arrayBuffer', { writable: true, value: readAs('arrayBuffer', (bytes) => bytes.slice().buffer) });
    if (reads.bytes) define('bytes', { writable: true, value: readAs('bytes', (bytes) => bytes.slice()) });
    define('blob', {
      writable: true,
      value: readAs('blob', (bytes, owner) => new Blob([bytes.slice()], { type: (owner.headers.get('content-type') ?? '').toLowerCase() })),
    });
  }

  patch(NativeRequest.prototype);
  patch(NativeResponse.prototype);

  // ---- the constructors --------------------------------------------------------------------------

  const Request = function Request(this: unknown, input: RequestInfo | URL, init?: RequestInit): Request {
    if (!new.target) throw new TypeError("Failed to construct 'Request': Please use the 'new' operator.");
    const source = input instanceof NativeRequest ? bodies.get(input) : undefined;
    const takesSourceBody = init?.body === undefined && source !== undefined && source.bytes !== null;
    if (takesSourceBody && source.used) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
    const request = Reflect.construct(NativeRequest, [input, init], new.target === Request ? NativeRequest : new.target) as Request;
    // Headers come from init, else from the Request being copied (through its full copy, if any).
    keepHeaders(request, init?.headers ?? (input instanceof NativeRequest ? input.headers : undefined), NativeRequest.prototype);
    if (init?.body !== undefined) keepBody(request, bytesOf(init.body));
    else if (takesSourceBody) {
      // The new Request takes the body over, and the one it copies can no longer be read, as in Node.
      keepBody(request, source.bytes);
      source.used = true;
    } else if (!(input instanceof NativeRequest) || source) keepBody(request, null);
    return request;
  } as unknown as typeof globalThis.Request;
  Request.prototype = NativeRequest.prototype;
  Object.setPrototypeOf(Request, NativeRequest);

  const Response = function Response(this: unknown, body?: BodyInit | null, init?: ResponseInit): Response {
    if (!new.target) throw new TypeError("Failed to construct 'Response': Please use the 'new' operator.");
    const response = Reflect.construct(NativeResponse, [body, init], new.target === Response ? NativeResponse : new.target) as Response;
    keepHeaders(response, init?.headers, NativeResponse.prototype);
    keepBody(response, bytesOf(body));
    return response;
  } as unknown as typeof globalThis.Response;
  Response.prototype = NativeResponse.prototype;
  Object.setPrototypeOf(Response, NativeResponse);
  Object.defineProperty(Response, 'json', {
    configurable: true,
    writable: true,
    value: (data: unknown, init?: ResponseInit) => {
      // The browser validates (and throws for what JSON cannot hold); the text is the same JSON.stringify.
      const response = NativeResponse.json(data, init);
      keepHeaders(response, init?.headers, NativeResponse.prototype);
      keepBody(response, encoder.encode(JSON.stringify(data)));
      return response;
    },
  });

  Object.defineProperty(scope, 'Request', { configurable: true, writable: true, value: Request });
  Object.defineProperty(scope, 'Response', { configurable: true, writable: true, value: Response });
}

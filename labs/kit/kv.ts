/**
 * A key-value store with the semantics of the Redis commands it offers. Values are strings (or
 * lists of strings), as in Redis: store objects with JSON.stringify. Expiry follows the cluster's clock.
 */

/** Options of SET, as in Redis: EX seconds, PX milliseconds, NX only if absent, XX only if present. */
export interface SetOptions {
  ex?: number;
  px?: number;
  nx?: boolean;
  xx?: boolean;
}

/** What a node holds as `ctx.kv`: every call is asynchronous and costs time, like a network round trip. */
export interface KvClient {
  /** GET: the value, or null when the key is absent or expired. */
  get(key: string): Promise<string | null>;
  /** SET: 'OK', or null when NX/XX prevented the write. */
  set(key: string, value: string, options?: SetOptions): Promise<'OK' | null>;
  /** DEL: how many of the keys existed. */
  del(...keys: string[]): Promise<number>;
  /** INCR: the value after adding one (a missing key counts as 0). */
  incr(key: string): Promise<number>;
  /** EXPIRE: 1 if the key exists and now expires in `seconds`, else 0. */
  expire(key: string, seconds: number): Promise<0 | 1>;
  /** TTL: seconds left, -1 for a key with no expiry, -2 for a missing key. */
  ttl(key: string): Promise<number>;
  /** EXISTS: how many of the keys exist. */
  exists(...keys: string[]): Promise<number>;
  /** LPUSH: length of the list after pushing to its head. */
  lpush(key: string, ...values: string[]): Promise<number>;
  /** RPUSH: length of the list after pushing to its tail. */
  rpush(key: string, ...values: string[]): Promise<number>;
  /** LPOP: the head of the list, or null when empty. */
  lpop(key: string): Promise<string | null>;
  /** RPOP: the tail of the list, or null when empty. */
  rpop(key: string): Promise<string | null>;
  /** LRANGE: elements from start to stop inclusive; negative indexes count from the end. */
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /** LLEN: the list's length (0 when absent). */
  llen(key: string): Promise<number>;
  /** KEYS with a glob pattern (`*` and `?`): the matching keys, sorted. */
  keys(pattern: string): Promise<string[]>;
}

interface Entry {
  value: string | string[];
  expiresAt?: number;
}

export class KvError extends Error {
  override name = 'KvError';
}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** The store itself: synchronous, and driven by a clock for expiry. */
export class KeyValueStore {
  readonly #data = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#data.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.#now()) {
      this.#data.delete(key);
      return undefined;
    }
    return entry;
  }

  #string(key: string): string | null {
    const entry = this.#live(key);
    if (!entry) return null;
    if (typeof entry.value !== 'string') throw new KvError(WRONGTYPE);
    return entry.value;
  }

  #list(key: string, create: boolean): string[] | undefined {
    const entry = this.#live(key);
    if (!entry) {
      if (!create) return undefined;
      const list: string[] = [];
      this.#data.set(key, { value: list });
      return list;
    }
    if (!Array.isArray(entry.value)) throw new KvError(WRONGTYPE);
    return entry.value;
  }

  get(key: string): string | null {
    return this.#string(key);
  }

  set(key: string, value: string, options: SetOptions = {}): 'OK' | null {
    if (typeof value !== 'string') {
      throw new KvError(`SET ${key}: values are strings, as in Redis; got ${typeof value}. Store objects with JSON.stringify.`);
    }
    const exists = this.#live(key) !== undefined;
    if ((options.nx && exists) || (options.xx && !exists)) return null;
    let expiresAt: number | undefined;
    if (options.ex !== undefined) expiresAt = this.#now() + options.ex * 1000;
    if (options.px !== undefined) expiresAt = this.#now() + options.px;
    if (expiresAt !== undefined && !(expiresAt > this.#now())) {
      throw new KvError(`SET ${key}: invalid expire time (EX/PX must be positive)`);
    }
    this.#data.set(key, { value, expiresAt });
    return 'OK';
  }

  del(keys: string[]): number {
    let n = 0;
    for (const key of keys) if (this.#live(key) && this.#data.delete(key)) n++;
    return n;
  }

  incr(key: string): number {
    const current = this.#string(key);
    const n = current === null ? 0 : Number(current);
    if (!Number.isSafeInteger(n) || (current !== null && !/^-?\d+$/.test(current))) {
      throw new KvError('ERR value is not an integer or out of range');
    }
    const entry = this.#live(key);
    this.#data.set(key, { value: String(n + 1), expiresAt: entry?.expiresAt });
    return n + 1;
  }

  expire(key: string, seconds: number): 0 | 1 {
    const entry = this.#live(key);
    if (!entry) return 0;
    if (seconds <= 0) {
      this.#data.delete(key);
      return 1;
    }
    entry.expiresAt = this.#now() + seconds * 1000;
    return 1;
  }

  ttl(key: string): number {
    const entry = this.#live(key);
    if (!entry) return -2;
    if (entry.expiresAt === undefined) return -1;
    return Math.ceil((entry.expiresAt - this.#now()) / 1000);
  }

  exists(keys: string[]): number {
    return keys.filter((key) => this.#live(key) !== undefined).length;
  }

  lpush(key: string, values: string[]): number {
    const list = this.#list(key, true)!;
    for (const v of values) list.unshift(v);
    return list.length;
  }

  rpush(key: string, values: string[]): number {
    const list = this.#list(key, true)!;
    list.push(...values);
    return list.length;
  }

  #pop(key: string, fromHead: boolean): string | null {
    const list = this.#list(key, false);
    if (!list || list.length === 0) return null;
    const value = fromHead ? list.shift()! : list.pop()!;
    if (list.length === 0) this.#data.delete(key);
    return value;
  }

  lpop(key: string): string | null {
    return this.#pop(key, true);
  }

  rpop(key: string): string | null {
    return this.#pop(key, false);
  }

  lrange(key: string, start: number, stop: number): string[] {
    const list = this.#list(key, false) ?? [];
    const len = list.length;
    const from = start < 0 ? Math.max(0, len + start) : start;
    const to = stop < 0 ? len + stop : Math.min(stop, len - 1);
    return from > to ? [] : list.slice(from, to + 1);
  }

  llen(key: string): number {
    return this.#list(key, false)?.length ?? 0;
  }

  keys(pattern: string): string[] {
    const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    return [...this.#data.keys()].filter((key) => this.#live(key) !== undefined && re.test(key)).sort();
  }

  /** FLUSHALL: forgets every key (for tests and lab scenarios). */
  flushAll(): void {
    this.#data.clear();
  }
}

/**
 * Builds a client whose every command goes through `call`, which carries it across the network
 * (latency, partitions, a stopped store) and charges the store's cost.
 */
export function kvClient(call: <T>(command: string, key: string, run: () => T) => Promise<T>, store: KeyValueStore): KvClient {
  return {
    get: (key) => call('GET', key, () => store.get(key)),
    set: (key, value, options) => call('SET', key, () => store.set(key, value, options)),
    del: (...keys) => call('DEL', keys.join(' '), () => store.del(keys)),
    incr: (key) => call('INCR', key, () => store.incr(key)),
    expire: (key, seconds) => call('EXPIRE', key, () => store.expire(key, seconds)),
    ttl: (key) => call('TTL', key, () => store.ttl(key)),
    exists: (...keys) => call('EXISTS', keys.join(' '), () => store.exists(keys)),
    lpush: (key, ...values) => call('LPUSH', key, () => store.lpush(key, values)),
    rpush: (key, ...values) => call('RPUSH', key, () => store.rpush(key, values)),
    lpop: (key) => call('LPOP', key, () => store.lpop(key)),
    rpop: (key) => call('RPOP', key, () => store.rpop(key)),
    lrange: (key, start, stop) => call('LRANGE', key, () => store.lrange(key, start, stop)),
    llen: (key) => call('LLEN', key, () => store.llen(key)),
    keys: (pattern) => call('KEYS', pattern, () => store.keys(pattern)),
  };
}

/**
 * The key-value store as nodes use it, `ctx.kv`: a typed client for a store with the semantics of
 * Redis 7. Values are strings (store objects with JSON.stringify), lists, hashes and sorted sets;
 * expiry follows the cluster's clock. Every method sends one Redis command and reads its reply, the
 * same way whether the in-memory store (kv-engine.ts) or a real Redis (kv-redis.ts) answers, and errors
 * are KvErrors with a `kind` (kv-errors.ts).
 */
import { KeyValueStore, type KvReply } from './kv-engine.ts';
import {
  expireWords, setWords, text, texts, word, zaddWords, zrangeWords,
  type ExpireCondition, type ListSide, type ScoreBound, type ScoredMember, type SetOptions, type ZAddOptions, type ZRangeOptions,
} from './kv-commands.ts';
import { compareBytes } from './kv-glob.ts';
import { readScore } from './kv-numbers.ts';

export { KeyValueStore } from './kv-engine.ts';
export type { KvReply } from './kv-engine.ts';
export { KvError } from './kv-errors.ts';
export type { KvErrorKind } from './kv-errors.ts';
export type { ExpireCondition, ListSide, ScoreBound, ScoredMember, SetOptions, ZAddOptions, ZRangeOptions } from './kv-commands.ts';

/** What a node holds as `ctx.kv`: every call is asynchronous and costs time, like a network round trip. */
export interface KvClient {
  // ——— strings and keys ———

  /** GET: the string at `key`, or null when the key is absent or expired. Throws a `wrong-type` KvError for a list, hash or sorted set. */
  get(key: string): Promise<string | null>;
  /**
   * SET `key` to the string `value`: 'OK', or null when `nx`/`xx` prevented the write. With `get: true`,
   * the value the key held before (or null) instead. Values must be strings: JSON.stringify objects.
   * @example await ctx.kv.set(`session:${sid}`, JSON.stringify(session), { ex: 3600 });
   * @example const won = await ctx.kv.set('lock:report', token, { nx: true, px: 5000 }); // 'OK' or null
   */
  set(key: string, value: string, options: SetOptions & { get: true }): Promise<string | null>;
  set(key: string, value: string, options?: SetOptions): Promise<'OK' | null>;
  /** MGET: the strings at each key, null for a key that is absent or not a string. */
  mget(...keys: string[]): Promise<(string | null)[]>;
  /** DEL: how many of the keys existed (and are now gone). */
  del(...keys: string[]): Promise<number>;
  /** EXISTS: how many of the keys exist (a key named twice counts twice). */
  exists(...keys: string[]): Promise<number>;
  /** TYPE: what `key` holds: 'string', 'list', 'hash', 'zset', or 'none' when it is absent. */
  type(key: string): Promise<'string' | 'list' | 'hash' | 'zset' | 'none'>;
  /**
   * KEYS: the live keys matching a glob pattern, sorted: `*` any run, `?` one character, `[abc]` one
   * of, `[^abc]` none of, `[a-z]` a range, `\` makes the next character literal. Slow on a big store,
   * as in Redis: for tests and tools, not for request handlers.
   */
  keys(pattern: string): Promise<string[]>;
  /** INCR: adds 1 to the integer at `key` (a missing key counts as 0) and returns the result; keeps the expiry. */
  incr(key: string): Promise<number>;
  /** INCRBY: adds the whole number `increment` (may be negative) and returns the result. */
  incrby(key: string, increment: number): Promise<number>;
  /** DECR: subtracts 1 and returns the result. */
  decr(key: string): Promise<number>;
  /** DECRBY: subtracts the whole number `decrement` and returns the result. */
  decrby(key: string, decrement: number): Promise<number>;
  /**
   * Deletes `key` only if it holds exactly `value`: 1 if it did, else 0. The safe way to release a lock
   * taken with `set(key, token, { nx: true, px })`: a holder whose lock expired and was taken by another
   * does not delete the other's. Atomic (on Redis, the usual Lua script run with EVAL).
   */
  delIfEquals(key: string, value: string): Promise<0 | 1>;

  // ——— expiry ———

  /**
   * EXPIRE: 1 if `key` exists and now expires in `seconds` (a whole number; zero or negative deletes
   * it), else 0. A `condition` (NX, XX, GT, LT) may prevent the change, which also answers 0.
   */
  expire(key: string, seconds: number, condition?: ExpireCondition): Promise<0 | 1>;
  /** PEXPIRE: as EXPIRE, in milliseconds. */
  pexpire(key: string, milliseconds: number, condition?: ExpireCondition): Promise<0 | 1>;
  /** TTL: whole seconds left, rounded to the nearest (so 0 for a key with under half a second left), -1 for a key with no expiry, -2 for a missing key. */
  ttl(key: string): Promise<number>;
  /** PTTL: milliseconds left, -1 for a key with no expiry, -2 for a missing key. */
  pttl(key: string): Promise<number>;
  /** PERSIST: removes the key's expiry; 1 if it had one, else 0. */
  persist(key: string): Promise<0 | 1>;

  // ——— lists ———

  /** LPUSH: pushes each value in turn to the head of the list (so the last ends first); returns the new length. At least one value. */
  lpush(key: string, ...values: string[]): Promise<number>;
  /** RPUSH: pushes the values to the tail of the list, in order; returns the new length. At least one value. */
  rpush(key: string, ...values: string[]): Promise<number>;
  /** LPOP: removes and returns the head of the list, or null when there is none. An emptied list is deleted. */
  lpop(key: string): Promise<string | null>;
  /** RPOP: removes and returns the tail of the list, or null when there is none. */
  rpop(key: string): Promise<string | null>;
  /** LRANGE: elements from `start` to `stop`, both included; negative indexes count from the end (-1 is the last). */
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /** LLEN: the list's length (0 when absent). */
  llen(key: string): Promise<number>;
  /**
   * LREM: removes elements equal to `element`: the first `count` from the head when count > 0, the
   * last -count from the tail when count < 0, all when 0. Returns how many were removed.
   */
  lrem(key: string, count: number, element: string): Promise<number>;
  /** LTRIM: keeps only the elements from `start` to `stop` (indexes as LRANGE's); 'OK'. */
  ltrim(key: string, start: number, stop: number): Promise<'OK'>;
  /**
   * LMOVE: atomically pops an element from one end of `source` and pushes it to one end of
   * `destination`; returns it, or null when `source` is empty. A reliable queue moves each job to a
   * "processing" list, and removes it from there (LREM) once done, so a crashed worker loses nothing.
   * @example const job = await ctx.kv.lmove('jobs', 'jobs:processing', 'LEFT', 'RIGHT');
   */
  lmove(source: string, destination: string, from: ListSide, to: ListSide): Promise<string | null>;
  /**
   * BLMOVE: LMOVE that waits, in the cluster's time, until `source` has an element or `timeout`
   * seconds have passed (0 waits for ever); null on timeout. Waiting clients are served first come,
   * first served.
   */
  blmove(source: string, destination: string, from: ListSide, to: ListSide, timeout: number): Promise<string | null>;

  // ——— hashes ———

  /** HSET: sets fields of the hash at `key`; returns how many fields are new. */
  hset(key: string, field: string, value: string): Promise<number>;
  hset(key: string, fields: Record<string, string>): Promise<number>;
  /** HGET: the field's value, or null. */
  hget(key: string, field: string): Promise<string | null>;
  /** HGETALL: every field and value of the hash, as an object ({} when absent). */
  hgetall(key: string): Promise<Record<string, string>>;
  /** HDEL: removes the fields; returns how many existed. An emptied hash is deleted. */
  hdel(key: string, ...fields: string[]): Promise<number>;
  /** HINCRBY: adds the whole number `increment` to the field (missing counts as 0); returns the result. */
  hincrby(key: string, field: string, increment: number): Promise<number>;
  /** HLEN: the number of fields (0 when absent). */
  hlen(key: string): Promise<number>;
  /** HEXISTS: 1 if the field exists, else 0. */
  hexists(key: string, field: string): Promise<0 | 1>;

  // ——— sorted sets ———

  /**
   * ZADD: adds `member` with `score` (or updates its score); returns how many members were added
   * (with `ch`, added or changed). Members are kept ordered by score, then by their bytes.
   * @example await ctx.kv.zadd(`hits:${ip}`, ctx.now(), requestId); // a sliding-window rate limit
   */
  zadd(key: string, score: number, member: string, options?: ZAddOptions): Promise<number>;
  zadd(key: string, members: ScoredMember[], options?: ZAddOptions): Promise<number>;
  /** ZREM: removes the members; returns how many existed. An emptied set is deleted. */
  zrem(key: string, ...members: string[]): Promise<number>;
  /** ZCARD: the number of members (0 when absent). */
  zcard(key: string): Promise<number>;
  /** ZSCORE: the member's score, or null. */
  zscore(key: string, member: string): Promise<number | null>;
  /** ZCOUNT: how many members have a score between `min` and `max` (inclusive unless written `'(5'`). */
  zcount(key: string, min: ScoreBound, max: ScoreBound): Promise<number>;
  /**
   * ZRANGE: members by rank from `start` to `stop` (both included, negative from the end), lowest score
   * first; or, with `{ by: 'score' }`, members whose score is between `start` and `stop`.
   */
  zrange(key: string, start: ScoreBound, stop: ScoreBound, options?: ZRangeOptions): Promise<string[]>;
  /** ZRANGE … WITHSCORES: as zrange, with each member's score. */
  zrangeWithScores(key: string, start: ScoreBound, stop: ScoreBound, options?: ZRangeOptions): Promise<ScoredMember[]>;
  /** ZRANGEBYSCORE: members whose score is between `min` and `max`, lowest first; `limit` skips and caps. */
  zrangebyscore(key: string, min: ScoreBound, max: ScoreBound, options?: { limit?: { offset: number; count: number } }): Promise<string[]>;
  /**
   * ZREMRANGEBYSCORE: removes the members whose score is between `min` and `max`; returns how many.
   * @example await ctx.kv.zremrangebyscore(`hits:${ip}`, '-inf', ctx.now() - 60_000); // forget old hits
   */
  zremrangebyscore(key: string, min: ScoreBound, max: ScoreBound): Promise<number>;
}

/**
 * Carries one command to a store: its name and main key (for metrics and events), its words, and
 * whether it may block. Resolves to the store's reply; rejects with a KvError for an error reply.
 */
export type KvTransport = (command: string, key: string, argv: string[], blocking: boolean) => Promise<KvReply>;

const asString = (r: KvReply) => r as string | null;
const asNumber = (r: KvReply) => r as number;
const asBit = (r: KvReply) => r as 0 | 1;
const asStrings = (r: KvReply) => r as string[];
const asScored = (r: KvReply): ScoredMember[] => {
  const flat = r as string[];
  const out: ScoredMember[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ member: flat[i]!, score: readScore(flat[i + 1]!) });
  return out;
};

/** The typed client over a transport: each method's command words and the reading of its reply, in one place for both stores. */
export function clientOver(send: KvTransport): KvClient {
  const run = <T>(argv: string[], read: (r: KvReply) => T, key = argv[1] ?? '', blocking = false): Promise<T> =>
    send(argv[0]!, key, argv, blocking).then(read);
  // Argument checks throw inside `attempt`, so a method always answers with a promise, rejected or not.
  const attempt = <T>(build: () => Promise<T>): Promise<T> => {
    try {
      return build();
    } catch (err) {
      return Promise.reject(err);
    }
  };
  /** A command on several keys: metrics and events name them all. */
  const many = <T>(command: string, keys: unknown[], read: (r: KvReply) => T): Promise<T> =>
    attempt(() => {
      const words = texts(command, 'key', keys);
      return run([command, ...words], read, words.join(' '));
    });
  const key = (command: string, k: unknown) => text(command, 'key', k);

  const client: KvClient = {
    get: (k) => attempt(() => run(['GET', key('GET', k)], asString)),
    set: ((k: string, value: string, options?: SetOptions) => attempt(() => run(setWords(k, value, options), asString))) as KvClient['set'],
    mget: (...keys) => many('MGET', keys, (r) => r as (string | null)[]),
    del: (...keys) => many('DEL', keys, asNumber),
    exists: (...keys) => many('EXISTS', keys, asNumber),
    type: (k) => attempt(() => run(['TYPE', key('TYPE', k)], (r) => r as 'string' | 'list' | 'hash' | 'zset' | 'none')),
    keys: (pattern) => attempt(() => run(['KEYS', text('KEYS', 'pattern', pattern)], (r) => asStrings(r).slice().sort(compareBytes))),
    incr: (k) => attempt(() => run(['INCR', key('INCR', k)], asNumber)),
    incrby: (k, n) => attempt(() => run(['INCRBY', key('INCRBY', k), word(n)], asNumber)),
    decr: (k) => attempt(() => run(['DECR', key('DECR', k)], asNumber)),
    decrby: (k, n) => attempt(() => run(['DECRBY', key('DECRBY', k), word(n)], asNumber)),
    delIfEquals: (k, value) => attempt(() => run(['DELIFEQ', key('DELIFEQ', k), text('DELIFEQ', 'value', value)], asBit)),

    expire: (k, seconds, condition) => attempt(() => run(expireWords('EXPIRE', k, seconds, condition), asBit)),
    pexpire: (k, ms, condition) => attempt(() => run(expireWords('PEXPIRE', k, ms, condition), asBit)),
    ttl: (k) => attempt(() => run(['TTL', key('TTL', k)], asNumber)),
    pttl: (k) => attempt(() => run(['PTTL', key('PTTL', k)], asNumber)),
    persist: (k) => attempt(() => run(['PERSIST', key('PERSIST', k)], asBit)),

    lpush: (k, ...values) => attempt(() => run(['LPUSH', key('LPUSH', k), ...texts('LPUSH', 'value', values)], asNumber)),
    rpush: (k, ...values) => attempt(() => run(['RPUSH', key('RPUSH', k), ...texts('RPUSH', 'value', values)], asNumber)),
    lpop: (k) => attempt(() => run(['LPOP', key('LPOP', k)], asString)),
    rpop: (k) => attempt(() => run(['RPOP', key('RPOP', k)], asString)),
    lrange: (k, start, stop) => attempt(() => run(['LRANGE', key('LRANGE', k), word(start), word(stop)], asStrings)),
    llen: (k) => attempt(() => run(['LLEN', key('LLEN', k)], asNumber)),
    lrem: (k, count, element) => attempt(() => run(['LREM', key('LREM', k), word(count), text('LREM', 'value', element)], asNumber)),
    ltrim: (k, start, stop) => attempt(() => run(['LTRIM', key('LTRIM', k), word(start), word(stop)], (r) => r as 'OK')),
    lmove: (source, destination, from, to) =>
      attempt(() => run(['LMOVE', key('LMOVE', source), key('LMOVE', destination), word(from), word(to)], asString)),
    blmove: (source, destination, from, to, timeout) =>
      attempt(() => {
        const argv = ['BLMOVE', key('BLMOVE', source), key('BLMOVE', destination), word(from), word(to), word(timeout)];
        return run(argv, asString, argv[1], true);
      }),

    hset: ((k: string, fieldOrFields: string | Record<string, string>, value?: string) =>
      attempt(() => {
        const pairs = typeof fieldOrFields === 'object' && fieldOrFields !== null ? Object.entries(fieldOrFields) : [[fieldOrFields, value]];
        const words = pairs.flatMap(([f, v]) => [text('HSET', 'field', f), text('HSET', 'value', v)]);
        return run(['HSET', key('HSET', k), ...words], asNumber);
      })) as KvClient['hset'],
    hget: (k, field) => attempt(() => run(['HGET', key('HGET', k), text('HGET', 'field', field)], asString)),
    hgetall: (k) =>
      attempt(() =>
        run(['HGETALL', key('HGETALL', k)], (r) => {
          const flat = asStrings(r);
          return Object.fromEntries(flat.flatMap((f, i) => (i % 2 === 0 ? [[f, flat[i + 1]!]] : [])));
        })),
    hdel: (k, ...fields) => attempt(() => run(['HDEL', key('HDEL', k), ...texts('HDEL', 'field', fields)], asNumber)),
    hincrby: (k, field, n) => attempt(() => run(['HINCRBY', key('HINCRBY', k), text('HINCRBY', 'field', field), word(n)], asNumber)),
    hlen: (k) => attempt(() => run(['HLEN', key('HLEN', k)], asNumber)),
    hexists: (k, field) => attempt(() => run(['HEXISTS', key('HEXISTS', k), text('HEXISTS', 'field', field)], asBit)),

    zadd: ((k: string, scoreOrMembers: number | ScoredMember[], memberOrOptions?: string | ZAddOptions, maybeOptions?: ZAddOptions) =>
      attempt(() => {
        const single = !Array.isArray(scoreOrMembers);
        const members = single ? [{ score: scoreOrMembers, member: memberOrOptions as string }] : scoreOrMembers;
        const options = (single ? maybeOptions : (memberOrOptions as ZAddOptions | undefined)) ?? {};
        return run(zaddWords(k, members, options), asNumber);
      })) as KvClient['zadd'],
    zrem: (k, ...members) => attempt(() => run(['ZREM', key('ZREM', k), ...texts('ZREM', 'member', members)], asNumber)),
    zcard: (k) => attempt(() => run(['ZCARD', key('ZCARD', k)], asNumber)),
    zscore: (k, member) => attempt(() => run(['ZSCORE', key('ZSCORE', k), text('ZSCORE', 'member', member)], (r) => (r === null ? null : readScore(r as string)))),
    zcount: (k, min, max) => attempt(() => run(['ZCOUNT', key('ZCOUNT', k), word(min), word(max)], asNumber)),
    zrange: (k, start, stop, options) => attempt(() => run(zrangeWords(k, start, stop, options), asStrings)),
    zrangeWithScores: (k, start, stop, options) =>
      attempt(() => run([...zrangeWords(k, start, stop, options), 'WITHSCORES'], asScored)),
    zrangebyscore: (k, min, max, options = {}) =>
      attempt(() => {
        const limit = options.limit ? ['LIMIT', word(options.limit.offset), word(options.limit.count)] : [];
        return run(['ZRANGEBYSCORE', key('ZRANGEBYSCORE', k), word(min), word(max), ...limit], asStrings);
      }),
    zremrangebyscore: (k, min, max) => attempt(() => run(['ZREMRANGEBYSCORE', key('ZREMRANGEBYSCORE', k), word(min), word(max)], asNumber)),
  };
  return client;
}

/**
 * Builds a client whose every command goes through `call`, which carries it across the network
 * (latency, partitions, a stopped store) and charges the store's cost. `run` may be given an
 * AbortSignal that ends a blocking command's wait (the caller went away).
 */
export function kvClient(
  call: <T>(command: string, key: string, run: (signal?: AbortSignal) => T) => Promise<T>,
  store: KeyValueStore,
): KvClient {
  return clientOver(async (command, key, argv, blocking) =>
    blocking
      ? await call(command, key, (signal) => store.runBlocking(argv, signal))
      : call(command, key, () => store.execute(argv)));
}

/** A client straight on a store, with no network between: for tests and tools that drive a store alone. */
export function directKvClient(store: KeyValueStore): KvClient {
  return kvClient((_command, _key, run) => {
    try {
      return Promise.resolve(run());
    } catch (err) {
      return Promise.reject(err);
    }
  }, store);
}

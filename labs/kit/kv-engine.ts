/**
 * The key-value store itself: Redis 7's commands run on its words (`['SET', 'k', 'v', 'EX', '10']`),
 * with Redis's checks in Redis's order, so it refuses what Redis refuses with the same error. Values
 * are strings, lists, hashes and sorted sets; expiry follows the clock it is given, in whole
 * milliseconds as Redis keeps time. kv.ts puts a typed client in front of it.
 */
import type { Clock } from './clock.ts';
import { expireWords, setWords, text, texts, type SetOptions } from './kv-commands.ts';
import { KvError, REDIS_ERRORS as E } from './kv-errors.ts';
import { compareBytes, globMatches } from './kv-glob.ts';
import { LLONG_MAX, LLONG_MIN, formatScore, parseDouble, parseInteger, parseScoreBound, parseTimeoutMs } from './kv-numbers.ts';

/** A reply as Redis sends it: a (bulk or status) string, an integer, nil, or an array of replies. */
export type KvReply = string | number | null | KvReply[];

interface Member {
  member: string;
  score: number;
}

type Value =
  | { type: 'string'; data: string }
  | { type: 'list'; data: string[] }
  | { type: 'hash'; data: Map<string, string> }
  | { type: 'zset'; data: Member[]; scores: Map<string, number> };

interface Entry {
  value: Value;
  /** When the key dies, in the store's milliseconds: alive while now <= expiresAt, as in Redis. */
  expiresAt?: number;
}

interface Waiter {
  source: string;
  destination: string;
  from: 'LEFT' | 'RIGHT';
  to: 'LEFT' | 'RIGHT';
  resolve: (reply: KvReply) => void;
  reject: (error: unknown) => void;
  cancel: () => void;
}

type Handler = (args: string[], now: number) => KvReply;

/** Reads a 64-bit integer argument, or throws the error Redis replies. */
function integer(word: string, message: string = E.notAnInteger): bigint {
  const n = parseInteger(word);
  if (n === undefined) throw new KvError(message);
  return n;
}

function side(word: string): 'LEFT' | 'RIGHT' {
  const upper = word.toUpperCase();
  if (upper !== 'LEFT' && upper !== 'RIGHT') throw new KvError(E.syntax);
  return upper;
}

function scoreRange(minWord: string, maxWord: string): (score: number) => boolean {
  const min = parseScoreBound(minWord);
  const max = parseScoreBound(maxWord);
  if (!min || !max) throw new KvError(E.rangeNotAFloat);
  return (score) => (min.open ? score > min.value : score >= min.value) && (max.open ? score < max.value : score <= max.value);
}

/** Start and stop indexes as LRANGE, LTRIM and ZRANGE read them: the inclusive slice, or undefined when empty. */
function indexRange(start: bigint, stop: bigint, length: number): [number, number] | undefined {
  const len = BigInt(length);
  if (start < 0n) start += len;
  if (stop < 0n) stop += len;
  if (start < 0n) start = 0n;
  if (start > stop || start >= len) return undefined;
  if (stop >= len) stop = len - 1n;
  return [Number(start), Number(stop)];
}

/**
 * The store: synchronous, driven by a clock for expiry. Give it the cluster's Clock so BLMOVE can wait
 * in the clock's time; a bare `now` function serves every command but a blocking one with a timeout.
 */
export class KeyValueStore {
  readonly #data = new Map<string, Entry>();
  readonly #clock: Pick<Clock, 'now'> & Partial<Pick<Clock, 'setTimeout'>>;
  readonly #waiters: Waiter[] = [];
  readonly #commands: Record<string, { arity: number; run: Handler }>;

  constructor(clock: (() => number) | (Pick<Clock, 'now'> & Partial<Pick<Clock, 'setTimeout'>>)) {
    this.#clock = typeof clock === 'function' ? { now: clock } : clock;
    this.#commands = this.#table();
  }

  /** Redis keeps time in whole milliseconds, fixed for the length of one command. */
  #now(): number {
    return Math.floor(this.#clock.now());
  }

  /**
   * Runs one command given as its words, as Redis would, and returns Redis's reply (integers as
   * numbers, nil as null); throws a KvError for an error reply. Blocking commands go through runBlocking.
   */
  execute(argv: readonly string[]): KvReply {
    const name = (argv[0] ?? '').toUpperCase();
    const command = this.#commands[name];
    if (!command) throw new KvError(name === 'BLMOVE' ? 'BLMOVE blocks: run it with runBlocking' : E.unknownCommand(argv[0] ?? ''));
    const args = argv.slice(1);
    const argc = argv.length;
    if (command.arity >= 0 ? argc !== command.arity : argc < -command.arity) throw new KvError(E.arity(name));
    return command.run(args, this.#now());
  }

  /**
   * BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: LMOVE when the source has elements;
   * otherwise waits, in the store's clock, for a push to the source, at most `timeout` seconds (0: for
   * ever), and resolves to null when the time is up. `signal` gives up the wait, as a client that
   * disconnects does.
   */
  runBlocking(argv: readonly string[], signal?: AbortSignal): Promise<KvReply> {
    try {
      if ((argv[0] ?? '').toUpperCase() !== 'BLMOVE') return Promise.resolve(this.execute(argv));
      if (argv.length !== 6) throw new KvError(E.arity('BLMOVE'));
      const [, source, destination, fromWord, toWord, timeoutWord] = argv as [string, string, string, string, string, string];
      const from = side(fromWord);
      const to = side(toWord);
      const ms = parseTimeoutMs(timeoutWord);
      if (ms === undefined) throw new KvError(E.timeoutNotAFloat);
      if (ms < 0n) throw new KvError(E.timeoutNegative);
      const now = this.#now();
      if (ms > 0n && ms > LLONG_MAX - BigInt(now)) throw new KvError(E.timeoutOutOfRange);
      const list = this.#list(source, now);
      if (list) return Promise.resolve(this.#move(source, destination, from, to, now));
      signal?.throwIfAborted();
      if (ms > 0n && !this.#clock.setTimeout) {
        throw new Error('BLMOVE with a timeout needs a store built with a Clock (new KeyValueStore(clock)), not only a now() function');
      }
      return new Promise<KvReply>((resolve, reject) => {
        const waiter: Waiter = { source, destination, from, to, resolve, reject, cancel: () => {} };
        const leave = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          waiter.cancel();
          signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          leave();
          reject(signal!.reason);
        };
        waiter.resolve = (reply) => {
          leave();
          resolve(reply);
        };
        waiter.reject = (error) => {
          leave();
          reject(error);
        };
        if (ms > 0n) waiter.cancel = this.#clock.setTimeout!(() => waiter.resolve(null), Number(ms));
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiters.push(waiter);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** FLUSHALL: forgets every key (for tests and lab scenarios). */
  flushAll(): void {
    this.#data.clear();
  }

  // Synchronous shortcuts for tests, scenarios and benchmarks, which read and seed the store directly;
  // nodes go through the client (kv.ts), which has every command.

  /** GET: the string at `key`, or null. */
  get(key: string): string | null {
    return this.execute(['GET', text('GET', 'key', key)]) as string | null;
  }

  /** SET, with the client's options: 'OK', null when NX/XX prevented it, or the old value with `get`. */
  set(key: string, value: string, options?: SetOptions): string | null {
    return this.execute(setWords(key, value, options)) as string | null;
  }

  /** DEL: how many of the keys existed. */
  del(keys: string[]): number {
    return this.execute(['DEL', ...texts('DEL', 'key', keys)]) as number;
  }

  /** EXISTS: how many of the keys exist. */
  exists(keys: string[]): number {
    return this.execute(['EXISTS', ...texts('EXISTS', 'key', keys)]) as number;
  }

  /** INCR: the integer at `key` plus one. */
  incr(key: string): number {
    return this.execute(['INCR', text('INCR', 'key', key)]) as number;
  }

  /** EXPIRE: 1 if the key exists and now expires in `seconds`, else 0. */
  expire(key: string, seconds: number): 0 | 1 {
    return this.execute(expireWords('EXPIRE', key, seconds)) as 0 | 1;
  }

  /** TTL: whole seconds left (rounded to the nearest), -1 for a key with no expiry, -2 for a missing key. */
  ttl(key: string): number {
    return this.execute(['TTL', text('TTL', 'key', key)]) as number;
  }

  /** PTTL: milliseconds left, -1 for a key with no expiry, -2 for a missing key. */
  pttl(key: string): number {
    return this.execute(['PTTL', text('PTTL', 'key', key)]) as number;
  }

  /** TYPE: `string`, `list`, `hash`, `zset`, or `none` for a missing key. */
  type(key: string): string {
    return this.execute(['TYPE', text('TYPE', 'key', key)]) as string;
  }

  /** KEYS pattern, sorted: the live keys matching a Redis glob pattern. */
  keys(pattern: string): string[] {
    return (this.execute(['KEYS', text('KEYS', 'pattern', pattern)]) as string[]).sort(compareBytes);
  }

  /** LPUSH: the list's length after pushing the values to its head. */
  lpush(key: string, values: string[]): number {
    return this.execute(['LPUSH', text('LPUSH', 'key', key), ...texts('LPUSH', 'value', values)]) as number;
  }

  /** RPUSH: the list's length after pushing the values to its tail. */
  rpush(key: string, values: string[]): number {
    return this.execute(['RPUSH', text('RPUSH', 'key', key), ...texts('RPUSH', 'value', values)]) as number;
  }

  /** LPOP: the head of the list, or null. */
  lpop(key: string): string | null {
    return this.execute(['LPOP', text('LPOP', 'key', key)]) as string | null;
  }

  /** RPOP: the tail of the list, or null. */
  rpop(key: string): string | null {
    return this.execute(['RPOP', text('RPOP', 'key', key)]) as string | null;
  }

  /** LRANGE: elements from start to stop inclusive; negative indexes count from the end. */
  lrange(key: string, start: number, stop: number): string[] {
    return this.execute(['LRANGE', text('LRANGE', 'key', key), String(start), String(stop)]) as string[];
  }

  /** LLEN: the list's length (0 when absent). */
  llen(key: string): number {
    return this.execute(['LLEN', text('LLEN', 'key', key)]) as number;
  }

  // ——— keys and expiry ———

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#data.get(key);
    if (entry?.expiresAt !== undefined && now > entry.expiresAt) {
      this.#data.delete(key);
      return undefined;
    }
    return entry;
  }

  #typed<T extends Value['type']>(key: string, now: number, type: T): Extract<Value, { type: T }> | undefined {
    const entry = this.#live(key, now);
    if (!entry) return undefined;
    if (entry.value.type !== type) throw new KvError(E.wrongType);
    return entry.value as Extract<Value, { type: T }>;
  }

  #string(key: string, now: number): string | null {
    return this.#typed(key, now, 'string')?.data ?? null;
  }

  #list(key: string, now: number): string[] | undefined {
    return this.#typed(key, now, 'list')?.data;
  }

  /** Deletes a list, hash or sorted set left empty, as Redis never keeps an empty one. */
  #dropIfEmpty(key: string, size: number): void {
    if (size === 0) this.#data.delete(key);
  }

  #expire(command: string, args: string[], now: number, unitMs: bigint): number {
    const [key, amount, ...options] = args as [string, string, ...string[]];
    const flags = new Set<string>();
    for (const option of options) {
      const upper = option.toUpperCase();
      if (!['NX', 'XX', 'GT', 'LT'].includes(upper)) throw new KvError(E.unsupportedOption(option));
      flags.add(upper);
    }
    if (flags.has('NX') && (flags.has('XX') || flags.has('GT') || flags.has('LT'))) throw new KvError(E.expireNxXx);
    if (flags.has('GT') && flags.has('LT')) throw new KvError(E.expireGtLt);
    let when = integer(amount);
    if (unitMs === 1000n) {
      if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) throw new KvError(E.invalidExpire(command));
      when *= 1000n;
    }
    // Redis adds Unix time here; the store adds its clock's time since the cluster started, so only an
    // amount within about 1.8e12 ms of the 64-bit limit is taken here and refused by Redis.
    if (when > LLONG_MAX - BigInt(now)) throw new KvError(E.invalidExpire(command));
    when += BigInt(now);
    const entry = this.#live(key, now);
    if (!entry) return 0;
    const current = entry.expiresAt;
    const at = Number(when);
    if (flags.has('NX') && current !== undefined) return 0;
    if (flags.has('XX') && current === undefined) return 0;
    if (flags.has('GT') && (current === undefined || at <= current)) return 0;
    if (flags.has('LT') && current !== undefined && at >= current) return 0;
    if (when <= BigInt(now)) this.#data.delete(key);
    else entry.expiresAt = at;
    return 1;
  }

  #ttl(key: string, now: number, ms: boolean): number {
    const entry = this.#live(key, now);
    if (!entry) return -2;
    if (entry.expiresAt === undefined) return -1;
    const left = Math.max(0, entry.expiresAt - now);
    return ms ? left : Math.floor((left + 500) / 1000);
  }

  // ——— strings ———

  #set(args: string[], now: number): KvReply {
    const [key, value, ...options] = args as [string, string, ...string[]];
    let nx = false, xx = false, get = false, keepTtl = false;
    let expire: { word: string; unitMs: bigint } | undefined;
    for (let i = 0; i < options.length; i++) {
      const upper = options[i]!.toUpperCase();
      const next = options[i + 1];
      if (upper === 'NX' && !xx) nx = true;
      else if (upper === 'XX' && !nx) xx = true;
      else if (upper === 'GET') get = true;
      else if (upper === 'KEEPTTL' && !expire) keepTtl = true;
      else if ((upper === 'EX' || upper === 'PX') && !keepTtl && next !== undefined && (!expire || expire.unitMs === (upper === 'EX' ? 1000n : 1n))) {
        expire = { word: next, unitMs: upper === 'EX' ? 1000n : 1n };
        i++;
      } else throw new KvError(E.syntax);
    }
    let expiresAt: number | undefined;
    if (expire) {
      let ms = integer(expire.word);
      if (ms <= 0n || (expire.unitMs === 1000n && ms > LLONG_MAX / 1000n)) throw new KvError(E.invalidExpire('set'));
      ms *= expire.unitMs;
      if (ms > LLONG_MAX - BigInt(now)) throw new KvError(E.invalidExpire('set'));
      expiresAt = now + Number(ms);
    }
    const old = get ? this.#string(key, now) : null;
    const existing = this.#live(key, now);
    if ((nx && existing) || (xx && !existing)) return get ? old : null;
    if (keepTtl && existing) expiresAt = existing.expiresAt;
    this.#data.set(key, { value: { type: 'string', data: value }, expiresAt });
    return get ? old : 'OK';
  }

  #incrBy(key: string, by: bigint, now: number): number {
    const entry = this.#live(key, now);
    if (entry && entry.value.type !== 'string') throw new KvError(E.wrongType);
    const current = entry ? integer((entry.value as { data: string }).data) : 0n;
    if ((by < 0n && current < 0n && by < LLONG_MIN - current) || (by > 0n && current > 0n && by > LLONG_MAX - current)) {
      throw new KvError(E.overflow);
    }
    const next = current + by;
    if (entry) entry.value = { type: 'string', data: String(next) };
    else this.#data.set(key, { value: { type: 'string', data: String(next) } });
    return Number(next);
  }

  // ——— lists ———

  #push(args: string[], now: number, head: boolean): number {
    const [key, ...values] = args as [string, ...string[]];
    let list = this.#list(key, now);
    if (!list) {
      list = [];
      this.#data.set(key, { value: { type: 'list', data: list } });
    }
    for (const v of values) {
      if (head) list.unshift(v);
      else list.push(v);
    }
    const length = list.length;
    this.#serveWaiters(key, now);
    return length;
  }

  #pop(key: string, now: number, head: boolean): string | null {
    const list = this.#list(key, now);
    if (!list || list.length === 0) return null;
    const value = head ? list.shift()! : list.pop()!;
    this.#dropIfEmpty(key, list.length);
    return value;
  }

  /** LMOVE once the source is known to hold a list: checks the destination, moves one element, wakes waiters. */
  #move(source: string, destination: string, from: 'LEFT' | 'RIGHT', to: 'LEFT' | 'RIGHT', now: number): string {
    const list = this.#list(source, now)!;
    let target = this.#list(destination, now);
    const value = from === 'LEFT' ? list.shift()! : list.pop()!;
    if (!target) {
      target = [];
      this.#data.set(destination, { value: { type: 'list', data: target } });
    }
    if (to === 'LEFT') target.unshift(value);
    else target.push(value);
    this.#dropIfEmpty(source, list.length);
    this.#serveWaiters(destination, now);
    return value;
  }

  /** Hands elements pushed to `key` to the clients blocked on it, first come first served, as Redis does after a push. */
  #serveWaiters(key: string, now: number): void {
    for (;;) {
      const waiter = this.#waiters.find((w) => w.source === key);
      if (!waiter) return;
      const entry = this.#live(key, now);
      if (entry?.value.type !== 'list' || entry.value.data.length === 0) return;
      const target = this.#live(waiter.destination, now);
      if (target && target.value.type !== 'list') {
        waiter.reject(new KvError(E.wrongType));
        continue;
      }
      waiter.resolve(this.#move(key, waiter.destination, waiter.from, waiter.to, now));
    }
  }

  // ——— hashes ———

  #hash(key: string, now: number, create: boolean): Map<string, string> | undefined {
    const hash = this.#typed(key, now, 'hash')?.data;
    if (hash || !create) return hash;
    const created = new Map<string, string>();
    this.#data.set(key, { value: { type: 'hash', data: created } });
    return created;
  }

  // ——— sorted sets ———

  #zset(key: string, now: number): Extract<Value, { type: 'zset' }> | undefined {
    return this.#typed(key, now, 'zset');
  }

  /** Inserts in (score, member) order: members of equal score sort by their bytes, as in Redis. */
  static #insert(set: Member[], item: Member): void {
    let lo = 0;
    let hi = set.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = set[mid]!;
      if (m.score < item.score || (m.score === item.score && compareBytes(m.member, item.member) < 0)) lo = mid + 1;
      else hi = mid;
    }
    set.splice(lo, 0, item);
  }

  static #remove(zset: Extract<Value, { type: 'zset' }>, member: string): boolean {
    if (!zset.scores.delete(member)) return false;
    zset.data.splice(zset.data.findIndex((m) => m.member === member), 1);
    return true;
  }

  #zadd(args: string[], now: number): number {
    const [key, ...rest] = args as [string, ...string[]];
    const flags = new Set<string>();
    let i = 0;
    for (; i < rest.length; i++) {
      const upper = rest[i]!.toUpperCase();
      if (!['NX', 'XX', 'CH', 'GT', 'LT', 'INCR'].includes(upper)) break;
      flags.add(upper);
    }
    const pairs = rest.slice(i);
    if (pairs.length % 2 !== 0 || pairs.length === 0) throw new KvError(E.syntax);
    const nx = flags.has('NX'), xx = flags.has('XX'), gt = flags.has('GT'), lt = flags.has('LT');
    if (nx && xx) throw new KvError(E.zaddNxXx);
    if ((gt && nx) || (lt && nx) || (gt && lt)) throw new KvError(E.zaddGtLtNx);
    if (flags.has('INCR')) throw new KvError('ERR ZADD INCR is not supported by this store: use separate ZSCORE and ZADD');
    const items: Member[] = [];
    for (let j = 0; j < pairs.length; j += 2) {
      const score = parseDouble(pairs[j]!);
      if (score === undefined) throw new KvError(E.notAFloat);
      items.push({ score, member: pairs[j + 1]! });
    }
    let zset = this.#zset(key, now);
    if (!zset) {
      if (xx) return 0;
      zset = { type: 'zset', data: [], scores: new Map() };
      this.#data.set(key, { value: zset });
    }
    let added = 0;
    let updated = 0;
    for (const { score, member } of items) {
      const current = zset.scores.get(member);
      if (current !== undefined) {
        if (nx || (lt && score >= current) || (gt && score <= current) || score === current) continue;
        KeyValueStore.#remove(zset, member);
        updated++;
      } else if (xx) {
        continue;
      } else {
        added++;
      }
      zset.scores.set(member, score);
      KeyValueStore.#insert(zset.data, { score, member });
    }
    return flags.has('CH') ? added + updated : added;
  }

  #zrange(args: string[], now: number, byScoreCommand: boolean): KvReply {
    const [key, first, second, ...options] = args as [string, string, string, ...string[]];
    let withScores = false, rev = false, byScore = byScoreCommand;
    let offset = 0n, limit = -1n;
    for (let i = 0; i < options.length; i++) {
      const upper = options[i]!.toUpperCase();
      const left = options.length - i - 1;
      if (upper === 'WITHSCORES') withScores = true;
      else if (upper === 'LIMIT' && left >= 2) {
        offset = integer(options[i + 1]!);
        limit = integer(options[i + 2]!);
        i += 2;
      } else if (!byScoreCommand && upper === 'REV' && !rev) rev = true;
      else if (!byScoreCommand && upper === 'BYSCORE' && !byScore) byScore = true;
      else throw new KvError(E.syntax);
    }
    // Redis tells a LIMIT apart by its count only: LIMIT 5 -1 passes for no LIMIT at all.
    if (limit !== -1n && !byScore) throw new KvError(E.zrangeLimit);
    let members: Member[];
    if (byScore) {
      const inRange = rev ? scoreRange(second, first) : scoreRange(first, second);
      const zset = this.#zset(key, now);
      if (!zset) return [];
      const ordered = rev ? [...zset.data].reverse() : zset.data;
      members = ordered.filter((m) => inRange(m.score));
      if (offset < 0n || (offset > 0n && offset >= BigInt(zset.data.length))) members = [];
      else members = members.slice(Number(offset), limit < 0n ? undefined : Number(offset + limit));
    } else {
      const start = integer(first);
      const stop = integer(second);
      const zset = this.#zset(key, now);
      if (!zset) return [];
      const ordered = rev ? [...zset.data].reverse() : zset.data;
      const range = indexRange(start, stop, ordered.length);
      members = range ? ordered.slice(range[0], range[1] + 1) : [];
    }
    return withScores ? members.flatMap((m) => [m.member, formatScore(m.score)]) : members.map((m) => m.member);
  }

  #table(): Record<string, { arity: number; run: Handler }> {
    const c = (arity: number, run: Handler) => ({ arity, run });
    return {
      GET: c(2, ([key], now) => this.#string(key!, now)),
      SET: c(-3, (args, now) => this.#set(args, now)),
      DEL: c(-2, (keys, now) => keys.filter((key) => this.#live(key, now) && this.#data.delete(key)).length),
      EXISTS: c(-2, (keys, now) => keys.filter((key) => this.#live(key, now) !== undefined).length),
      MGET: c(-2, (keys, now) =>
        keys.map((key) => {
          const entry = this.#live(key, now);
          return entry?.value.type === 'string' ? entry.value.data : null;
        })),
      INCR: c(2, ([key], now) => this.#incrBy(key!, 1n, now)),
      DECR: c(2, ([key], now) => this.#incrBy(key!, -1n, now)),
      INCRBY: c(3, ([key, by], now) => this.#incrBy(key!, integer(by!), now)),
      DECRBY: c(3, ([key, by], now) => {
        const n = integer(by!);
        if (n === LLONG_MIN) throw new KvError(E.decrementOverflow);
        return this.#incrBy(key!, -n, now);
      }),
      EXPIRE: c(-3, (args, now) => this.#expire('expire', args, now, 1000n)),
      PEXPIRE: c(-3, (args, now) => this.#expire('pexpire', args, now, 1n)),
      TTL: c(2, ([key], now) => this.#ttl(key!, now, false)),
      PTTL: c(2, ([key], now) => this.#ttl(key!, now, true)),
      PERSIST: c(2, ([key], now) => {
        const entry = this.#live(key!, now);
        if (entry?.expiresAt === undefined) return 0;
        delete entry.expiresAt;
        return 1;
      }),
      TYPE: c(2, ([key], now) => this.#live(key!, now)?.value.type ?? 'none'),
      KEYS: c(2, ([pattern], now) => [...this.#data.keys()].filter((key) => this.#live(key, now) && globMatches(pattern!, key))),
      DELIFEQ: c(3, ([key, token], now) => {
        if (this.#string(key!, now) !== token) return 0;
        this.#data.delete(key!);
        return 1;
      }),

      LPUSH: c(-3, (args, now) => this.#push(args, now, true)),
      RPUSH: c(-3, (args, now) => this.#push(args, now, false)),
      LPOP: c(2, ([key], now) => this.#pop(key!, now, true)),
      RPOP: c(2, ([key], now) => this.#pop(key!, now, false)),
      LLEN: c(2, ([key], now) => this.#list(key!, now)?.length ?? 0),
      LRANGE: c(4, ([key, start, stop], now) => {
        const from = integer(start!);
        const to = integer(stop!);
        const list = this.#list(key!, now) ?? [];
        const range = indexRange(from, to, list.length);
        return range ? list.slice(range[0], range[1] + 1) : [];
      }),
      LREM: c(4, ([key, countWord, element], now) => {
        const count = integer(countWord!);
        const list = this.#list(key!, now);
        if (!list) return 0;
        const limit = count === 0n ? Infinity : Number(count < 0n ? -count : count);
        let removed = 0;
        if (count >= 0n) {
          for (let i = 0; i < list.length && removed < limit; ) {
            if (list[i] === element) {
              list.splice(i, 1);
              removed++;
            } else i++;
          }
        } else {
          for (let i = list.length - 1; i >= 0 && removed < limit; i--) {
            if (list[i] === element) {
              list.splice(i, 1);
              removed++;
            }
          }
        }
        this.#dropIfEmpty(key!, list.length);
        return removed;
      }),
      LTRIM: c(4, ([key, start, stop], now) => {
        const from = integer(start!);
        const to = integer(stop!);
        const list = this.#list(key!, now);
        if (!list) return 'OK';
        const range = indexRange(from, to, list.length);
        const kept = range ? list.slice(range[0], range[1] + 1) : [];
        list.splice(0, list.length, ...kept);
        this.#dropIfEmpty(key!, list.length);
        return 'OK';
      }),
      LMOVE: c(5, ([source, destination, from, to], now) => {
        const fromSide = side(from!);
        const toSide = side(to!);
        const list = this.#list(source!, now);
        if (!list) return null;
        this.#list(destination!, now);
        return this.#move(source!, destination!, fromSide, toSide, now);
      }),

      HSET: c(-4, (args, now) => {
        if (args.length % 2 === 0) throw new KvError(E.arity('hset'));
        const [key, ...pairs] = args as [string, ...string[]];
        const hash = this.#hash(key, now, true)!;
        let added = 0;
        for (let i = 0; i < pairs.length; i += 2) {
          if (!hash.has(pairs[i]!)) added++;
          hash.set(pairs[i]!, pairs[i + 1]!);
        }
        return added;
      }),
      HGET: c(3, ([key, field], now) => this.#hash(key!, now, false)?.get(field!) ?? null),
      HGETALL: c(2, ([key], now) => [...(this.#hash(key!, now, false) ?? [])].flat()),
      HDEL: c(-3, ([key, ...fields], now) => {
        const hash = this.#hash(key!, now, false);
        if (!hash) return 0;
        const removed = fields.filter((f) => hash.delete(f)).length;
        this.#dropIfEmpty(key!, hash.size);
        return removed;
      }),
      HINCRBY: c(4, ([key, field, by], now) => {
        const increment = integer(by!);
        const hash = this.#hash(key!, now, true)!;
        const stored = hash.get(field!);
        const current = stored === undefined ? 0n : integer(stored, E.hashNotAnInteger);
        if ((increment < 0n && current < 0n && increment < LLONG_MIN - current) || (increment > 0n && current > 0n && increment > LLONG_MAX - current)) {
          throw new KvError(E.overflow);
        }
        const next = current + increment;
        hash.set(field!, String(next));
        return Number(next);
      }),
      HLEN: c(2, ([key], now) => this.#hash(key!, now, false)?.size ?? 0),
      HEXISTS: c(3, ([key, field], now) => (this.#hash(key!, now, false)?.has(field!) ? 1 : 0)),

      ZADD: c(-4, (args, now) => this.#zadd(args, now)),
      ZREM: c(-3, ([key, ...members], now) => {
        const zset = this.#zset(key!, now);
        if (!zset) return 0;
        const removed = members.filter((m) => KeyValueStore.#remove(zset, m)).length;
        this.#dropIfEmpty(key!, zset.data.length);
        return removed;
      }),
      ZCARD: c(2, ([key], now) => this.#zset(key!, now)?.data.length ?? 0),
      ZSCORE: c(3, ([key, member], now) => {
        const score = this.#zset(key!, now)?.scores.get(member!);
        return score === undefined ? null : formatScore(score);
      }),
      ZCOUNT: c(4, ([key, min, max], now) => {
        const inRange = scoreRange(min!, max!);
        return this.#zset(key!, now)?.data.filter((m) => inRange(m.score)).length ?? 0;
      }),
      ZRANGE: c(-4, (args, now) => this.#zrange(args, now, false)),
      ZRANGEBYSCORE: c(-4, (args, now) => this.#zrange(args, now, true)),
      ZREMRANGEBYSCORE: c(4, ([key, min, max], now) => {
        const inRange = scoreRange(min!, max!);
        const zset = this.#zset(key!, now);
        if (!zset) return 0;
        const gone = zset.data.filter((m) => inRange(m.score));
        for (const m of gone) KeyValueStore.#remove(zset, m.member);
        this.#dropIfEmpty(key!, zset.data.length);
        return gone.length;
      }),
    };
  }
}

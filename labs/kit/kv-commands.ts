/**
 * How a typed call becomes Redis command words: the option types of the key-value client and the
 * builders both the client (kv.ts) and the store's own synchronous methods (kv-engine.ts) use, so a
 * call means the same command whichever store answers.
 */
import { argumentError } from './kv-errors.ts';

/**
 * Options of SET, as in Redis: `ex` seconds or `px` milliseconds to expire (positive whole numbers, not
 * both), `nx` only if the key is absent or `xx` only if present (not both), `keepTtl` to keep the key's
 * expiry (not with `ex`/`px`), `get` to answer the old value instead of 'OK'.
 */
export interface SetOptions {
  ex?: number;
  px?: number;
  nx?: boolean;
  xx?: boolean;
  keepTtl?: boolean;
  get?: boolean;
}

/** EXPIRE's condition: NX only if the key has no expiry, XX only if it has one, GT/LT only if the new one is later/earlier. */
export type ExpireCondition = 'NX' | 'XX' | 'GT' | 'LT';

/** An end of a list, for LMOVE and BLMOVE: LEFT is the head (LPUSH's side), RIGHT the tail. */
export type ListSide = 'LEFT' | 'RIGHT';

/** A member of a sorted set and its score. */
export interface ScoredMember {
  member: string;
  score: number;
}

/**
 * Options of ZADD: `nx` only add new members, `xx` only update existing ones (not both); `gt`/`lt`
 * update only to a greater/lower score (not with `nx`); `ch` count changed scores as well as new members.
 */
export interface ZAddOptions {
  nx?: boolean;
  xx?: boolean;
  gt?: boolean;
  lt?: boolean;
  ch?: boolean;
}

/**
 * Options of ZRANGE: `by: 'score'` to read start and stop as scores (numbers, `'(5'` for an open
 * bound, `'-inf'`, `'+inf'`) instead of ranks; `rev` for highest first (then give the higher bound
 * first, as Redis does); `limit` to skip `offset` members and return at most `count` (score ranges only).
 */
export interface ZRangeOptions {
  by?: 'score';
  rev?: boolean;
  limit?: { offset: number; count: number };
}

/** A score bound: a number, or a string Redis reads, such as `'(5'` (exclusive), `'-inf'` or `'+inf'`. */
export type ScoreBound = number | string;

/** A stored word (key, value, field, member) must be a string, as in Redis: a kit-only check, the same on both stores. */
export function text(command: string, what: string, x: unknown): string {
  if (typeof x === 'string') return x;
  const hint = typeof x === 'object' && x !== null ? ' Store objects with JSON.stringify.' : x === undefined ? '' : ` Convert it with String(${typeof x === 'number' ? x : '…'}).`;
  throw argumentError(`${command}: ${what}s are strings, as in Redis; got ${x === null ? 'null' : typeof x}.${hint}`);
}

export const texts = (command: string, what: string, xs: unknown[]) => xs.map((x) => text(command, what, x));
/** A number as its command word: Redis then decides whether it is a valid integer or float ("1.5" is not an integer). */
export const word = (n: unknown) => String(n);
export const flag = (on: unknown, name: string) => (on ? [name] : []);

/** SET's words. */
export function setWords(key: unknown, value: unknown, options: SetOptions = {}): string[] {
  return [
    'SET', text('SET', 'key', key), text('SET', 'value', value),
    ...flag(options.nx, 'NX'), ...flag(options.xx, 'XX'), ...flag(options.get, 'GET'),
    ...(options.ex !== undefined ? ['EX', word(options.ex)] : []),
    ...(options.px !== undefined ? ['PX', word(options.px)] : []),
    ...flag(options.keepTtl, 'KEEPTTL'),
  ];
}

/** EXPIRE's or PEXPIRE's words. */
export function expireWords(command: 'EXPIRE' | 'PEXPIRE', key: unknown, amount: unknown, condition?: unknown): string[] {
  return [command, text(command, 'key', key), word(amount), ...(condition === undefined ? [] : [word(condition)])];
}

/** ZADD's words, for one member or several. */
export function zaddWords(key: unknown, members: ScoredMember[], options: ZAddOptions = {}): string[] {
  const flags = [...flag(options.nx, 'NX'), ...flag(options.xx, 'XX'), ...flag(options.gt, 'GT'), ...flag(options.lt, 'LT'), ...flag(options.ch, 'CH')];
  return ['ZADD', text('ZADD', 'key', key), ...flags, ...members.flatMap((m) => [word(m.score), text('ZADD', 'member', m.member)])];
}

/** ZRANGE's words, without WITHSCORES. */
export function zrangeWords(key: unknown, start: ScoreBound, stop: ScoreBound, options: ZRangeOptions = {}): string[] {
  const by = options.by === undefined ? [] : options.by === 'score' ? ['BYSCORE'] : [word(options.by)];
  const limit = options.limit ? ['LIMIT', word(options.limit.offset), word(options.limit.count)] : [];
  return ['ZRANGE', text('ZRANGE', 'key', key), word(start), word(stop), ...by, ...flag(options.rev, 'REV'), ...limit];
}

/**
 * Errors of the key-value store, worded as Redis 7 words them, each with a kind a program can branch on.
 * The in-memory store throws them and the real-Redis client turns Redis's error replies into them,
 * so code that catches one catches the other.
 */

/**
 * What went wrong, whichever store answered:
 * - `wrong-type`: the key holds another kind of value (WRONGTYPE), e.g. GET on a list;
 * - `syntax`: options that do not go together or are not options of that command (`{ nx: true, xx: true }`);
 * - `arity`: too few arguments (`rpush(key)` with no values);
 * - `not-an-integer`: a count, index, expiry or stored value that is not a 64-bit integer ("1.5", "007");
 * - `not-a-float`: a score or score bound that is not a number;
 * - `invalid-expire`: an expiry that is zero, negative or too large to add to the clock;
 * - `overflow`: an increment that would leave the 64-bit range;
 * - `out-of-range`: a value of the right type outside what the command allows (a negative timeout);
 * - `argument`: not a Redis error: the call passed something Redis cannot store (an object for a value);
 * - `other`: any other error reply of a real Redis (out of memory, loading, …).
 */
export type KvErrorKind =
  | 'wrong-type'
  | 'syntax'
  | 'arity'
  | 'not-an-integer'
  | 'not-a-float'
  | 'invalid-expire'
  | 'overflow'
  | 'out-of-range'
  | 'argument'
  | 'other';

/** An error reply of the key-value store: `kind` to branch on, `message` as Redis words it. */
export class KvError extends Error {
  override name = 'KvError';
  /** What went wrong, the same whether the in-memory store or a real Redis answered. */
  readonly kind: KvErrorKind;
  /** Redis's error code: the reply's first word (`ERR`, `WRONGTYPE`), or `KIT` for a kit-only error. */
  readonly code: string;

  constructor(message: string, kind: KvErrorKind = kvErrorKind(message)) {
    super(message);
    this.kind = kind;
    this.code = kind === 'argument' ? 'KIT' : (/^[A-Z]+(?= |$)/.exec(message)?.[0] ?? 'ERR');
  }
}

/** Redis 7's error replies, as the in-memory store throws them. */
export const REDIS_ERRORS = {
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  syntax: 'ERR syntax error',
  notAnInteger: 'ERR value is not an integer or out of range',
  hashNotAnInteger: 'ERR hash value is not an integer',
  notAFloat: 'ERR value is not a valid float',
  rangeNotAFloat: 'ERR min or max is not a float',
  overflow: 'ERR increment or decrement would overflow',
  decrementOverflow: 'ERR decrement would overflow',
  timeoutNotAFloat: 'ERR timeout is not a float or out of range',
  timeoutNegative: 'ERR timeout is negative',
  timeoutOutOfRange: 'ERR timeout is out of range',
  zaddNxXx: 'ERR XX and NX options at the same time are not compatible',
  zaddGtLtNx: 'ERR GT, LT, and/or NX options at the same time are not compatible',
  zrangeLimit: 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
  expireNxXx: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  expireGtLt: 'ERR GT and LT options at the same time are not compatible',
  arity: (command: string) => `ERR wrong number of arguments for '${command.toLowerCase()}' command`,
  invalidExpire: (command: string) => `ERR invalid expire time in '${command.toLowerCase()}' command`,
  unsupportedOption: (option: string) => `ERR Unsupported option ${option}`,
  unknownCommand: (command: string) => `ERR unknown command '${command}'`,
} as const;

const KINDS: [RegExp, KvErrorKind][] = [
  [/^WRONGTYPE /, 'wrong-type'],
  [/^ERR (syntax error|Unsupported option |.* options at the same time are not compatible)/, 'syntax'],
  [/^ERR wrong number of arguments /, 'arity'],
  [/^ERR (value is not an integer|hash value is not an integer)/, 'not-an-integer'],
  [/^ERR (value is not a valid float|min or max is not a float|timeout is not a float)/, 'not-a-float'],
  [/^ERR invalid expire time /, 'invalid-expire'],
  [/^ERR (increment or decrement|decrement|increment) would overflow/, 'overflow'],
  [/^ERR (timeout is negative|timeout is out of range|value is out of range)/, 'out-of-range'],
];

/** The kind of a Redis error reply, from its text. */
export function kvErrorKind(message: string): KvErrorKind {
  for (const [pattern, kind] of KINDS) if (pattern.test(message)) return kind;
  return 'other';
}

/** A kit-only error: the call passed what Redis cannot take (a value that is not a string). */
export function argumentError(message: string): KvError {
  return new KvError(message, 'argument');
}

/**
 * How Redis 7 reads numbers from a command's words, so the in-memory store accepts and refuses
 * exactly what Redis does: "007", "1.5" and " 7" are not integers; "0x10" and "inf" are scores.
 */

export const LLONG_MAX = (1n << 63n) - 1n;
export const LLONG_MIN = -(1n << 63n);

/**
 * A 64-bit integer written as Redis writes one (its string2ll): no sign but `-`, no leading zero, no
 * spaces, at most 20 characters. Undefined when the word is not one.
 */
export function parseInteger(word: string): bigint | undefined {
  if (word.length === 0 || word.length >= 21 || !/^(0|-?[1-9][0-9]*)$/.test(word)) return undefined;
  const n = BigInt(word);
  return n > LLONG_MAX || n < LLONG_MIN ? undefined : n;
}

interface StrtodResult {
  value: number;
  /** The literal is finite but too large for a double (strtod's ERANGE overflow). */
  overflow: boolean;
  /** The literal is not zero but rounds to zero (strtod's ERANGE underflow to zero). */
  underflow: boolean;
}

const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const HEX = /^([+-]?)0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;
const NAN = /^[+-]?nan(?:\([0-9A-Za-z_]*\))?$/i;

/** C's strtod over the whole word (after leading spaces, which strtod skips); undefined if any is left over. */
function strtod(word: string): StrtodResult | undefined {
  const s = word.replace(/^[ \t\n\v\f\r]+/, '');
  if (DECIMAL.test(s)) {
    const value = Number(s);
    const mantissa = s.replace(/[eE].*$/, '');
    return { value, overflow: !Number.isFinite(value), underflow: value === 0 && /[1-9]/.test(mantissa) };
  }
  const hex = HEX.exec(s);
  if (hex) {
    const whole = hex[2] ?? '';
    const fraction = hex[3] ?? hex[4] ?? '';
    const digits = whole + fraction;
    let mantissa = 0;
    for (const d of digits) mantissa = mantissa * 16 + parseInt(d, 16);
    const magnitude = mantissa * 2 ** (Number(hex[5] ?? 0) - 4 * fraction.length);
    const value = hex[1] === '-' ? -magnitude : magnitude;
    return { value, overflow: !Number.isFinite(value), underflow: value === 0 && /[1-9a-fA-F]/.test(digits) };
  }
  const inf = INFINITY.exec(s);
  if (inf) return { value: inf[1] === '-' ? -Infinity : Infinity, overflow: false, underflow: false };
  if (NAN.test(s)) return { value: NaN, overflow: false, underflow: false };
  // strtod reads nothing from an empty word and stops at its end: Redis takes that as 0 in score ranges.
  if (word === '') return { value: 0, overflow: false, underflow: false };
  return undefined;
}

/**
 * A double written as Redis accepts one for a score (its string2d): strtod's syntax, including
 * `inf` and hexadecimal, but no leading space, no NaN and nothing out of range.
 */
export function parseDouble(word: string): number | undefined {
  if (word === '' || /^[ \t\n\v\f\r]/.test(word)) return undefined;
  const r = strtod(word);
  if (!r || r.overflow || r.underflow || Number.isNaN(r.value)) return undefined;
  return r.value;
}

/** A score bound of ZRANGEBYSCORE and alike: `(` for an open bound, then anything strtod reads whole but NaN. */
export function parseScoreBound(word: string): { value: number; open: boolean } | undefined {
  const open = word.startsWith('(');
  const r = strtod(open ? word.slice(1) : word);
  if (!r || Number.isNaN(r.value)) return undefined;
  // Redis keeps strtod's answer even on ERANGE: HUGE_VAL for an overflow, 0 for an underflow.
  return { value: r.overflow ? (r.value > 0 ? Infinity : -Infinity) : r.underflow ? 0 : r.value, open };
}

/**
 * A blocking command's timeout in seconds, as whole milliseconds (Redis multiplies by 1000 and
 * truncates). Undefined when the word is not a float; an infinite or huge timeout converts to the most
 * negative integer on x86-64, which Redis then calls negative.
 */
export function parseTimeoutMs(word: string): bigint | undefined {
  const seconds = parseDouble(word);
  if (seconds === undefined) return undefined;
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) >= 2 ** 63) return LLONG_MIN;
  return BigInt(Math.trunc(ms));
}

/** A score as a reply carries it: `inf`, `-inf`, or the shortest decimal that reads back as the same double. */
export function formatScore(score: number): string {
  if (score === Infinity) return 'inf';
  if (score === -Infinity) return '-inf';
  return String(score);
}

/** A score from a reply: the inverse of formatScore, and of Redis's `%.17g`. */
export function readScore(word: string): number {
  if (word === 'inf') return Infinity;
  if (word === '-inf') return -Infinity;
  return Number(word);
}

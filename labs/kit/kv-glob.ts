/**
 * Glob patterns as Redis 7 matches them for KEYS (its stringmatchlen): `*`, `?`, `[abc]`, `[^abc]`,
 * `[a-z]`, and `\` to take the next character literally, over the UTF-8 bytes of key and pattern.
 */

const encoder = new TextEncoder();
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;

const signed = (byte: number) => (byte > 127 ? byte - 256 : byte);

/** Whether `key` matches the glob `pattern`, byte for byte as Redis decides it. */
export function globMatches(pattern: string, key: string): boolean {
  // KEYS * takes every key, even the empty one, which the matcher itself would not.
  if (pattern === '*') return true;
  return matchBytes(encoder.encode(pattern), encoder.encode(key));
}

function matchBytes(pattern: Uint8Array, string: Uint8Array): boolean {
  // Redis gives up on a `*` once the rest of the pattern failed from every later position.
  const state = { skipLongerMatches: false };
  return match(pattern, 0, pattern.length, string, 0, string.length, state);
}

// A port of stringmatchlen_impl: p/s are positions, pLen/sLen what is left. Reading past the end
// yields 0, as the C code reads the string's terminating NUL.
function match(
  pattern: Uint8Array, p: number, pLen: number,
  string: Uint8Array, s: number, sLen: number,
  state: { skipLongerMatches: boolean },
): boolean {
  const at = (i: number) => pattern[i] ?? 0;
  while (pLen > 0 && sLen > 0) {
    switch (at(p)) {
      case STAR: {
        while (pLen > 0 && at(p + 1) === STAR) {
          p++;
          pLen--;
        }
        if (pLen === 1) return true;
        while (sLen > 0) {
          if (match(pattern, p + 1, pLen - 1, string, s, sLen, state)) return true;
          if (state.skipLongerMatches) return false;
          s++;
          sLen--;
        }
        state.skipLongerMatches = true;
        return false;
      }
      case QUESTION:
        s++;
        sLen--;
        break;
      case OPEN: {
        p++;
        pLen--;
        const not = at(p) === CARET;
        if (not) {
          p++;
          pLen--;
        }
        let matched = false;
        const c = string[s]!;
        for (;;) {
          if (at(p) === BACKSLASH && pLen >= 2) {
            p++;
            pLen--;
            if (at(p) === c) matched = true;
          } else if (at(p) === CLOSE) {
            break;
          } else if (pLen === 0) {
            p--;
            pLen++;
            break;
          } else if (pLen >= 3 && at(p + 1) === DASH) {
            // C's char is signed here: a range bound beyond ASCII (a UTF-8 byte) counts as negative.
            let start = signed(at(p));
            let end = signed(at(p + 2));
            if (start > end) [start, end] = [end, start];
            p += 2;
            pLen -= 2;
            if (signed(c) >= start && signed(c) <= end) matched = true;
          } else if (at(p) === c) {
            matched = true;
          }
          p++;
          pLen--;
        }
        if (not) matched = !matched;
        if (!matched) return false;
        s++;
        sLen--;
        break;
      }
      case BACKSLASH:
        if (pLen >= 2) {
          p++;
          pLen--;
        }
      // falls through: the escaped character is compared literally
      default:
        if (at(p) !== string[s]) return false;
        s++;
        sLen--;
        break;
    }
    p++;
    pLen--;
    if (sLen === 0) {
      while (at(p) === STAR) {
        p++;
        pLen--;
      }
      break;
    }
  }
  return pLen === 0 && sLen === 0;
}

/** Orders strings by their UTF-8 bytes (that is, by code point), as Redis orders members and as KEYS is sorted here. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

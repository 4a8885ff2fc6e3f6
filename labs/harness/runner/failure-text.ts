/**
 * What a failed assertion says to the reader: the test's own sentence first, then what was
 * expected and what came, in one line. Chai's wording ("expected 300 to be 100 // Object.is
 * equality") is matcher noise to a reader; it is rewritten the same way on every host.
 */

/**
 * Chai's words between the received and the expected value, and what the reader reads before the
 * expected value instead; longer phrases first, since ' to be ' starts several.
 */
const PHRASES: [string, string][] = [
  [' to be greater than or equal to ', 'at least '],
  [' to be less than or equal to ', 'at most '],
  [' to be greater than ', 'more than '],
  [' to be above ', 'more than '],
  [' to be less than ', 'less than '],
  [' to be below ', 'less than '],
  [' to not strictly equal ', 'not '],
  [' to not deeply equal ', 'not '],
  [' to not equal ', 'not '],
  [' to not be ', 'not '],
  [' to strictly equal ', ''],
  [' to deeply equal ', ''],
  [' to equal ', ''],
  [' to have a length of ', 'a length of '],
  [' to match ', 'a text matching '],
  [' to include ', 'something including '],
  [' to contain ', 'something including '],
  [' to be ', ''],
];

/** Chai writes zero as +0 (toBe tells 0 from -0); a reader expects 0. */
const value = (text: string) => (text === '+0' ? '0' : text);

/** Matcher noise, removed wherever it appears. */
const NOISE = [/ \/\/ Object\.is equality/g, / \/\/ deep equality/g, /^AssertionError: /];

/** Text a reader must never see in a failure message: the grader check and the tests look for it. */
export const MATCHER_NOISE = /\/\/ Object\.is equality|\/\/ deep equality|AssertionError|toStrictEqual|toEqual\(|toBe\(/;

/** "expected 300 to be 100" → "expected 100, received 300"; other clauses are kept as chai words them. */
function plainClause(clause: string): string {
  const body = clause.slice('expected '.length);
  for (const [words, instead] of PHRASES) {
    const at = body.lastIndexOf(words);
    if (at > 0) return `expected ${instead}${value(body.slice(at + words.length))}, received ${value(body.slice(0, at))}`;
  }
  return clause;
}

/** The reader-facing text of one failure message; only an assertion's wording is rewritten. */
export function failureText(message: string, isAssertion: boolean): string {
  let text = message;
  for (const noise of NOISE) text = text.replace(noise, '');
  const newline = text.indexOf('\n');
  const first = newline < 0 ? text : text.slice(0, newline);
  const rest = newline < 0 ? '' : text.slice(newline);
  if (!isAssertion) return text;
  const split = first.lastIndexOf(': expected ');
  if (split > 0) return `${first.slice(0, split)}\n${plainClause(first.slice(split + 2))}${rest}`;
  if (first.startsWith('expected ')) return `${plainClause(first)}${rest}`;
  return text;
}

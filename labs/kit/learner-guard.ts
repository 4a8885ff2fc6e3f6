/**
 * A verdict must never depend on wall time. Every substrate runs this over a reader's files before
 * loading them, and refuses files that reach for the real clock, real timers or unseeded randomness.
 * The kit's own code and the test runner are not checked: they may use them.
 */

const FORBIDDEN: { pattern: RegExp; what: string; instead: string }[] = [
  { pattern: /\bDate\s*\.\s*now\b/, what: 'Date.now()', instead: 'ctx.now()' },
  { pattern: /\bnew\s+Date\s*\(\s*\)/, what: 'new Date()', instead: 'new Date(ctx.now())' },
  { pattern: /\bperformance\s*\.\s*now\b/, what: 'performance.now()', instead: 'ctx.now()' },
  { pattern: /(?<![\w$.])setTimeout\b/, what: 'setTimeout', instead: 'ctx.setTimeout(fn, ms) or await ctx.sleep(ms)' },
  { pattern: /(?<![\w$.])setInterval\b/, what: 'setInterval', instead: 'ctx.setInterval(fn, ms)' },
  { pattern: /(?<![\w$.])setImmediate\b/, what: 'setImmediate', instead: 'await ctx.sleep(0)' },
  { pattern: /\bAbortSignal\s*\.\s*timeout\b/, what: 'AbortSignal.timeout()', instead: 'ctx.timeout(ms)' },
  { pattern: /\bMath\s*\.\s*random\b/, what: 'Math.random()', instead: 'ctx.random()' },
  { pattern: /\bcrypto\s*\.\s*(randomUUID|getRandomValues)\b/, what: 'crypto random numbers', instead: 'ctx.random()' },
];

/** Blanks out comments and string contents, keeping line breaks, so only code is searched. */
function codeOnly(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, (m) => m.replace(/[^\n]/g, ' '));
}

export interface GuardViolation {
  file: string;
  line: number;
  message: string;
}

/** Every use of the real clock, timers or randomness in a reader's file, with what to use instead. */
export function findWallClockUses(file: string, source: string): GuardViolation[] {
  const lines = codeOnly(source).split('\n');
  const found: GuardViolation[] = [];
  lines.forEach((text, i) => {
    for (const rule of FORBIDDEN) {
      if (rule.pattern.test(text)) {
        found.push({
          file,
          line: i + 1,
          message: `${file}:${i + 1} uses ${rule.what}. Lab code runs on the cluster's clock so that every run is repeatable: use ${rule.instead} instead.`,
        });
      }
    }
  });
  return found;
}

/** Throws one error listing every violation, or does nothing when the file is clean. */
export function assertNoWallClock(file: string, source: string): void {
  const found = findWallClockUses(file, source);
  if (found.length > 0) throw new Error(found.map((v) => v.message).join('\n'));
}

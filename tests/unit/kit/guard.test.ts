import { expect, test } from 'vitest';
import { assertNoWallClock, findWallClockUses } from '@scale-lab/kit';

test('finds the real clock, timers and randomness in code, with the line and what to use', () => {
  const source = [
    'const a = Date.now();',
    'setTimeout(() => {}, 10);',
    'const r = Math.random();',
    'ctx.setTimeout(() => {}, 10);',
    '// Date.now() in a comment is fine',
    "const s = 'Math.random() in a string is fine';",
    'const d = new Date(ctx.now());',
  ].join('\n');
  const found = findWallClockUses('balancer.ts', source);
  expect(found.map((v) => v.line)).toEqual([1, 2, 3]);
  expect(found[0]!.message).toBe(
    'balancer.ts:1 uses Date.now(). Lab code runs on the cluster\'s clock so that every run is repeatable: use ctx.now() instead.',
  );
  expect(() => assertNoWallClock('app.ts', 'const x = 1;')).not.toThrow();
  expect(() => assertNoWallClock('app.ts', 'const x = new Date();')).toThrow(/app.ts:1 uses new Date\(\)/);
});

/**
 * The part of Vitest's API that graded lab tests may use: what runs with the same semantics in
 * Node (Vitest), in the browser Worker runtime (@vitest/runner + @vitest/expect) and in WebContainer.
 * Fake timers, module mocks and snapshots are left out: the cluster's virtual clock replaces the first,
 * the kit's fault injection the second, and verdicts must not depend on stored files.
 */
export const GRADED_TEST_API = [
  'test',
  'it',
  'describe',
  'expect',
  'beforeAll',
  'afterAll',
  'beforeEach',
  'afterEach',
  'onTestFailed',
  'onTestFinished',
] as const;

export type GradedTestApi = (typeof GRADED_TEST_API)[number];

/*
 * From the kit, besides building clusters, a graded test names its evidence for the replay of a
 * failure: `evidence(label, events)` (labs/kit/evidence.ts) marks the events an assertion counts or
 * checks, so that "What happened" can show them. It changes no verdict. Call it before the `expect`
 * it explains: an `expect` that fails ends the test.
 */

/** Matchers and calls that would pass in one substrate and not another. */
const FORBIDDEN_USES: { pattern: RegExp; why: string }[] = [
  { pattern: /\bvi\s*\./, why: 'vi (fake timers, mocks, spies) is not part of the graded API' },
  { pattern: /\.toMatch(Inline)?Snapshot\b|\.toThrowErrorMatching(Inline)?Snapshot\b/, why: 'snapshots are not part of the graded API' },
  { pattern: /\bimport\.meta\.(glob|env)\b/, why: 'import.meta.glob/env exist only under Vite' },
  { pattern: /\bwatchClusters\b/, why: 'watchClusters belongs to the runner that records replays; name evidence with evidence(label, events)' },
];

/** Problems with one graded test file's use of the test API; empty when it keeps to GRADED_TEST_API. */
export function checkGradedTestSource(file: string, source: string): string[] {
  const problems: string[] = [];
  for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"]vitest['"]/g)) {
    for (const raw of match[1]!.split(',')) {
      const name = raw.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
      if (name && !(GRADED_TEST_API as readonly string[]).includes(name) && !raw.trim().startsWith('type ')) {
        problems.push(`${file}: imports "${name}" from vitest; graded tests may use only ${GRADED_TEST_API.join(', ')}`);
      }
    }
  }
  if (/import\s+\*\s+as\s+\w+\s+from\s*['"]vitest['"]|import\s+\w+\s+from\s*['"]vitest['"]/.test(source)) {
    problems.push(`${file}: import named functions from vitest, e.g. import { test, expect } from 'vitest'`);
  }
  for (const { pattern, why } of FORBIDDEN_USES) if (pattern.test(source)) problems.push(`${file}: ${why}`);
  return problems;
}

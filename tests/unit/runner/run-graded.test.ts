/**
 * The one graded-test runner (labs/harness/runner), in plain Node, on the Clones lab bundled by the
 * lab-assets build. Parity across hosts is checked end to end in tests/e2e/parity.spec.ts; here:
 * verdicts, failure text, load errors, names, the loader's rules and bounded output.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { buildLabBundle, bundleKit } from '../../../scripts/build-lab-assets.ts';
import { findLab, type LabFolder } from '../../../scripts/lab-runner/catalog.ts';
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import type { OutputLine } from '../../../labs/harness/results.ts';
import { failureText, MATCHER_NOISE } from '../../../labs/harness/runner/failure-text.ts';
import { MAX_MESSAGE_LENGTH, runGraded, type FileOutcome, type GradedRunInput } from '../../../labs/harness/runner/index.ts';

let lab: LabFolder;
let bundle: LabBundle;
let kitCode: string;

beforeAll(async () => {
  lab = findLab('clones');
  [bundle, kitCode] = await Promise.all([buildLabBundle(lab), bundleKit()]);
});

function run(files: Record<string, string>, overrides: Partial<GradedRunInput> = {}): Promise<FileOutcome[]> {
  return runGraded({
    kitCode,
    tests: bundle.tests,
    files: { ...bundle.starter, ...files },
    editable: lab.lab.editable,
    testFiles: lab.lab.steps.map((s) => s.test),
    ...overrides,
  });
}

/** Runs hand-written CommonJS test code (as the build would emit it) against the Clones starter. */
async function runTestCode(code: string, files: Record<string, string> = {}, overrides: Partial<GradedRunInput> = {}): Promise<FileOutcome> {
  const [outcome] = await run(files, { tests: { 'tests/x.test.ts': code }, testFiles: ['tests/x.test.ts'], ...overrides });
  return outcome!;
}

test('the solution passes every test of every step', async () => {
  const outcomes = await run(bundle.solution);
  expect(outcomes.map((o) => o.file)).toEqual(lab.lab.steps.map((s) => s.test));
  for (const outcome of outcomes) {
    expect(outcome.error, outcome.file).toBeUndefined();
    expect(outcome.tests.length, outcome.file).toBeGreaterThan(0);
    expect(outcome.tests.filter((t) => !t.passed), outcome.file).toEqual([]);
  }
});

test('the starter fails a test in every step, with the assertion message and the seed line', async () => {
  const outcomes = await run({});
  for (const outcome of outcomes) {
    expect(outcome.error, outcome.file).toBeUndefined();
    expect(outcome.tests.some((t) => !t.passed), outcome.file).toBe(true);
  }
  const [roundRobin] = outcomes[0]!.tests;
  expect(roundRobin).toEqual({
    name: '300 requests through the balancer give each app server 100',
    passed: false,
    message:
      'every request went to app-1 (app-1 300, app-2 0, app-3 0): the balancer must move on to the next server for every request; round robin gives each of the three servers 100, in turn\n' +
      'expected 100, received 300\n' +
      '(cluster seed 1: the same seed replays this run exactly)',
  });
});

test('Date.now() in balancer.ts fails every file to load, naming balancer.ts and the line', async () => {
  const balancer = bundle.solution['balancer.ts']!.replace('let cursor = 0;', 'let cursor = 0;\n  const startedAt = Date.now();');
  const line = balancer.split('\n').findIndex((l) => l.includes('Date.now()')) + 1;
  const outcomes = await run({ ...bundle.solution, 'balancer.ts': balancer });
  for (const outcome of outcomes) {
    expect(outcome.tests).toEqual([]);
    expect(outcome.error).toBe(
      `balancer.ts:${line} uses Date.now(). Lab code runs on the cluster's clock so that every run is repeatable: use ctx.now() instead.`,
    );
  }
});

test('only editable files are checked for the wall clock', async () => {
  const cluster = `// Date.now() here is not the reader's\n${bundle.starter['cluster.ts']!}\nexport const builtAt = Date.now();\n`;
  const [outcome] = await run({ ...bundle.solution, 'cluster.ts': cluster }, { testFiles: [lab.lab.steps[0]!.test] });
  expect(outcome!.error).toBeUndefined();
});

test('a syntax error names the file, line and column', async () => {
  const balancer = bundle.solution['balancer.ts']!.replace('let cursor = 0;', 'let cursor = ;');
  const line = balancer.split('\n').findIndex((l) => l.includes('let cursor = ;')) + 1;
  const [outcome] = await run({ ...bundle.solution, 'balancer.ts': balancer }, { testFiles: [lab.lab.steps[0]!.test] });
  expect(outcome!.error).toMatch(new RegExp(`^balancer\\.ts:${line}:\\d+: Unexpected token\\n  ${line} \\|   let cursor = ;`));
});

test("an error thrown by the reader's code points at the reader's file and line in its stack", async () => {
  const app = bundle.solution['app.ts']!.replace("if (url.pathname === '/health')", "if (url.pathname === '/') throw new RangeError('broken page');\n    if (url.pathname === '/health')");
  const line = app.split('\n').findIndex((l) => l.includes('broken page')) + 1;
  const stacks: string[] = [];
  const outcome = await runTestCode(
    `const { test } = require('vitest');
     const { createApp } = require('../starter/app.ts');
     test('calls the handler', async () => {
       const handler = createApp({ name: 'app-1', sleep: async () => {} });
       try { await handler(new Request('http://app-1/')); } catch (err) { console.log(err.stack); throw err; }
     });`,
    { ...bundle.solution, 'app.ts': app },
    { onOutput: (lines) => stacks.push(...lines.map((l) => l.text)) },
  );
  expect(outcome.tests).toEqual([{ name: 'calls the handler', passed: false, message: 'broken page' }]);
  expect(stacks.join('\n')).toContain(`app.ts:${line}:`);
});

test('full names join suites and test with " > "; skipped tests report as Vitest reports them', async () => {
  const outcome = await runTestCode(`
    const { describe, test, it, expect } = require('vitest');
    describe('outer', () => {
      describe('inner', () => {
        test('fails', () => { expect(1, 'one is not two').toBe(2); });
        it('passes', () => { expect({ a: [1] }).toEqual({ a: [expect.any(Number)] }); });
      });
      test.skip('skipped', () => {});
    });
    test('top level', ({ expect }) => { expect.assertions(2); expect(true).toBe(true); });
  `);
  expect(outcome).toEqual({
    file: 'tests/x.test.ts',
    tests: [
      { name: 'outer > inner > fails', passed: false, message: 'one is not two\nexpected 2, received 1' },
      { name: 'outer > inner > passes', passed: true },
      { name: 'outer > skipped', passed: false, message: 'test skipped' },
      { name: 'top level', passed: false, message: 'expected number of assertions to be 2, but got 1' },
    ],
  });
});

test('hooks and onTestFailed run as in Vitest', async () => {
  const outcome = await runTestCode(`
    const { beforeEach, afterEach, beforeAll, afterAll, onTestFailed, onTestFinished, test, expect } = require('vitest');
    const order = [];
    beforeAll(() => order.push('beforeAll'));
    beforeEach(() => order.push('beforeEach'));
    afterEach(() => order.push('afterEach'));
    afterAll(() => order.push('afterAll'));
    test('first', () => {
      onTestFinished(() => order.push('finished'));
      onTestFailed(({ task }) => { for (const e of task.result.errors) e.message += '\\n(more)'; });
      expect('a').toBe('b');
    });
    test('second', () => { expect(order).toEqual(['beforeAll', 'beforeEach', 'afterEach', 'finished', 'beforeEach']); });
  `);
  expect(outcome.tests).toEqual([
    { name: 'first', passed: false, message: "expected 'b', received 'a'\n(more)" },
    { name: 'second', passed: true },
  ]);
});

test('every test file gets fresh modules: state in a lab module does not leak from one file to the next', async () => {
  const counter = 'export let loads = 0;\nloads++;\nexport const count = () => loads;\n';
  const code = `const { test, expect } = require('vitest'); const { count } = require('../starter/counter.ts'); test('loaded once', () => { expect(count()).toBe(1); });`;
  const outcomes = await run(
    { 'counter.ts': counter },
    { tests: { 'tests/a.test.ts': code, 'tests/b.test.ts': code }, testFiles: ['tests/a.test.ts', 'tests/b.test.ts'] },
  );
  expect(outcomes.map((o) => o.tests[0]!.passed)).toEqual([true, true]);
});

test('an import the lab cannot satisfy fails the file with a message naming the importer', async () => {
  const balancer = `import { shuffle } from 'lodash';\n${bundle.solution['balancer.ts']!}\nexport const s = shuffle;\n`;
  const [outcome] = await run({ ...bundle.solution, 'balancer.ts': balancer }, { testFiles: [lab.lab.steps[0]!.test] });
  expect(outcome!.error).toMatch(/^balancer\.ts imports "lodash", which is not available here/);
});

test("console output of the tests and the reader's code goes to onOutput; each test's verdict to onTestDone", async () => {
  const lines: string[] = [];
  const done: string[] = [];
  const app = bundle.solution['app.ts']!.replace("if (url.pathname === '/health')", "if (url.pathname === '/login') console.log('login on', ctx.name);\n    if (url.pathname === '/health')");
  const step = lab.lab.steps.find((s) => s.id === 'stateless')!;
  const [outcome] = await run(
    { ...bundle.solution, 'app.ts': app },
    { testFiles: [step.test], onOutput: (batch) => lines.push(...batch.map((l) => `${l.stream}: ${l.text}`)), onTestDone: (file, t) => done.push(`${file}: ${t.name}`) },
  );
  expect(outcome!.tests.every((t) => t.passed)).toBe(true);
  expect(lines).toContain('log: login on app-1');
  expect(done).toEqual(outcome!.tests.map((t) => `${step.test}: ${t.name}`));
});

describe('missing pieces', () => {
  test('a test file that is not in the bundle is reported, not thrown', async () => {
    const [outcome] = await run({}, { testFiles: ['tests/nope.test.ts'] });
    expect(outcome).toEqual({ file: 'tests/nope.test.ts', tests: [], error: "tests/nope.test.ts is not in the lab's bundled tests: rebuild the lab assets." });
  });
});

describe('messages in the reader’s terms', () => {
  test('a wrong export name says which file does not export what', async () => {
    const balancer = bundle.solution['balancer.ts']!.replace('export function createBalancer', 'export function makeBalancer');
    const [outcome] = await run({ ...bundle.solution, 'balancer.ts': balancer }, { testFiles: [lab.lab.steps[0]!.test] });
    expect(outcome!.tests.length).toBeGreaterThan(0);
    for (const t of outcome!.tests) expect(t.message).toContain('balancer.ts does not export createBalancer');
  });

  test('a file that throws while loading is named, with its line', async () => {
    const app = `throw new TypeError('app.ts refuses to load');\n${bundle.solution['app.ts']!}`;
    const [outcome] = await run({ ...bundle.solution, 'app.ts': app }, { testFiles: [lab.lab.steps[0]!.test] });
    expect(outcome!.error).toBe('app.ts:1 threw an error while loading, before any test could run: TypeError: app.ts refuses to load');
  });

  test('no failure message of the starter carries matcher noise', async () => {
    const outcomes = await run({});
    const messages = outcomes.flatMap((o) => o.tests.map((t) => t.message ?? ''));
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) expect(m).not.toMatch(MATCHER_NOISE);
  });
});

test('failureText: the sentence first, then expected and received in one line', () => {
  expect(failureText("app-2 got 3 of 30: expected 3 to be 0 // Object.is equality\n(cluster seed 1)", true)).toBe('app-2 got 3 of 30\nexpected 0, received 3\n(cluster seed 1)');
  expect(failureText('no requests failed: expected +0 to be 1', true)).toBe('no requests failed\nexpected 1, received 0');
  expect(failureText('expected 2 to be greater than or equal to 5', true)).toBe('expected at least 5, received 2');
  expect(failureText("expected { a: 1 } to deeply equal { a: 2 }", true)).toBe('expected { a: 2 }, received { a: 1 }');
  // Not an assertion: left as written.
  expect(failureText('expected number of assertions to be 2, but got 1', false)).toBe('expected number of assertions to be 2, but got 1');
});

describe('bounded output', () => {
  const noisyTest = (lines: number) => `
    const { test } = require('vitest');
    test('prints', () => { for (let i = 0; i < ${lines}; i++) console.log('line ' + i); });
    test('throws a huge message', () => { throw new Error('x'.repeat(30_000_000)); });`;

  test('past 1,000 lines only a count is kept, in a few batches; a 30 MB message is cut', async () => {
    const batches: OutputLine[][] = [];
    const outcome = await runTestCode(noisyTest(10_000), {}, { onOutput: (lines) => batches.push(lines) });
    const lines = batches.flat();
    expect(lines.length).toBe(1001);
    expect(lines[999]!.text).toBe('line 999');
    expect(lines[1000]!.text).toBe('… 9,000 more lines not shown');
    expect(batches.length).toBeLessThanOrEqual(3);
    const huge = outcome.tests[1]!.message!;
    expect(huge.length).toBeLessThan(MAX_MESSAGE_LENGTH + 100);
    expect(huge).toMatch(/… \(29,99\d,\d{3} more characters\)$/);
  });
});

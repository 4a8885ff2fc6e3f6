/**
 * What `import … from 'vitest'` gives a graded test outside Vitest: the test API of
 * `@vitest/runner` and the `expect` of `@vitest/expect` + chai, set up the way Vitest sets them up
 * (same plugins, same assertion counting, same runner hooks), so names, verdicts and messages match
 * a run under Vitest in Node. Only the names in GRADED_TEST_API are exported.
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  getCurrentTest,
  it,
  onTestFailed,
  onTestFinished,
  test,
  type Test,
  type TestContext,
  type VitestRunner,
  type VitestRunnerConfig,
  type VitestRunnerImportSource,
} from '@vitest/runner';
import {
  addCustomEqualityTesters,
  ASYMMETRIC_MATCHERS_OBJECT,
  chai,
  ChaiStyleAssertions,
  customMatchers,
  GLOBAL_EXPECT,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
  type ExpectStatic,
  type MatcherState,
  type MatchersObject,
  type Tester,
} from '@vitest/expect';
import { GRADED_TEST_API, type GradedTestApi } from '../graded-api.ts';

/** The runner settings of a graded run in Node (scripts/lab-runner/vitest.lab.config.ts and Vitest's defaults). */
export const RUNNER_CONFIG: VitestRunnerConfig = {
  root: '/',
  setupFiles: [],
  name: undefined,
  passWithNoTests: false,
  testNamePattern: undefined,
  // Vitest allows `.only` outside CI, where readers run `npm run lab`.
  allowOnly: true,
  sequence: { shuffle: false, concurrent: false, seed: 0, hooks: 'stack', setupFiles: 'parallel' },
  chaiConfig: undefined,
  maxConcurrency: 5,
  testTimeout: 20_000,
  hookTimeout: 10_000,
  retry: 0,
  includeTaskLocation: false,
  tags: [],
  tagsFilter: undefined,
  strictTags: false,
};

type AssertionState = Pick<
  MatcherState,
  'assertionCalls' | 'isExpectingAssertions' | 'isExpectingAssertionsError' | 'expectedAssertionsNumber' | 'expectedAssertionsNumberErrorGen'
>;

function freshAssertionState(): AssertionState {
  return { assertionCalls: 0, isExpectingAssertions: false, isExpectingAssertionsError: null, expectedAssertionsNumber: null, expectedAssertionsNumberErrorGen: null };
}

let pluginsInstalled = false;

/**
 * Installs Vitest's chai plugins once. Where Vitest itself already runs in this process (the unit
 * tests), chai is shared and already carries the same plugins: installing them again would wrap
 * `toThrow` twice, so they are reused.
 */
function installChaiPlugins(): void {
  if (pluginsInstalled) return;
  pluginsInstalled = true;
  if (!Object.hasOwn(chai.Assertion.prototype, 'toEqual')) {
    chai.use(JestExtend);
    chai.use(JestChaiExpect);
    chai.use(ChaiStyleAssertions);
    chai.use(JestAsymmetricMatchers);
  }
}

/** Vitest's `createExpect`, without snapshots, mocks and `expect.poll`. */
function createExpect(test?: Test): ExpectStatic {
  // Loosely typed on purpose: the object is assembled property by property, as in Vitest.
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect);
    setState({ assertionCalls: assertionCalls + 1 }, expect);
    const assertion = chai.expect(value, message) as Chai.Assertion & { withTest(test: Test): Chai.Assertion };
    const current = test ?? getCurrentTest();
    return current ? assertion.withTest(current) : assertion;
  }) as unknown as ExpectStatic & Record<string, unknown>;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<symbol, object>)[ASYMMETRIC_MATCHERS_OBJECT]);
  expect.getState = () => getState(expect);
  expect.setState = (state) => setState(state, expect);
  setState({ ...freshAssertionState(), currentTestName: test ? (test.fullTestName ?? '') : '' }, expect);
  expect.assert = chai.assert;
  // JestExtend adds `extend` to chai.expect; chai's own types do not know it.
  expect.extend = (matchers) => (chai.expect as unknown as { extend(e: ExpectStatic, m: MatchersObject): void }).extend(expect, matchers);
  expect.addEqualityTesters = (testers: Tester[]) => addCustomEqualityTesters(testers);
  expect.soft = (value: unknown, message?: string) => (expect(value, message) as unknown as { withContext(c: object): unknown }).withContext({ soft: true });
  expect.unreachable = (message?: string) => {
    chai.assert.fail(`expected${message ? ` "${message}" ` : ' '}not to be reached`);
  };
  function assertions(expected: number) {
    const errorGen = () => new Error(`expected number of assertions to be ${expected}, but got ${expect.getState().assertionCalls}`);
    expect.setState({ expectedAssertionsNumber: expected, expectedAssertionsNumberErrorGen: errorGen });
  }
  function hasAssertions() {
    expect.setState({ isExpectingAssertions: true, isExpectingAssertionsError: new Error('expected any number of assertion, but got none') });
  }
  chai.util.addMethod(expect, 'assertions', assertions);
  chai.util.addMethod(expect, 'hasAssertions', hasAssertions);
  return expect;
}

let globalExpect: ExpectStatic | undefined;

/** A test's context once extendTaskContext has run: `expect` for the test, and whether it was used. */
type LocalContext = TestContext & { expect: ExpectStatic; _local?: boolean };

/** The module `vitest` resolves to in a graded run. Its runner state is global: one run at a time. */
export function vitestModule(): Record<GradedTestApi, unknown> {
  installChaiPlugins();
  if (!globalExpect) {
    globalExpect = createExpect();
    globalExpect.extend(customMatchers);
    // Asymmetric matchers read the current state through this global; Vitest sets it the same way.
    const g = globalThis as Record<symbol, unknown>;
    if (!g[GLOBAL_EXPECT]) Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: globalExpect, writable: true, configurable: true });
  }
  const api: Record<GradedTestApi, unknown> = { test, it, describe, expect: globalExpect, beforeAll, afterAll, beforeEach, afterEach, onTestFailed, onTestFinished };
  // Keeps this list and the shared one in step: a name added there must be exported here.
  for (const name of GRADED_TEST_API) if (api[name] === undefined) throw new Error(`vitest shim: ${name} is missing`);
  return Object.freeze({ ...api, __esModule: true }) as Record<GradedTestApi, unknown>;
}

/** A VitestRunner modelled on Vitest's own TestRunner: collects one test file and runs it. */
export class GradedTestRunner implements VitestRunner {
  readonly config = RUNNER_CONFIG;
  readonly #importTest: (filepath: string) => unknown;
  readonly #onTestDone: ((test: Test) => void) | undefined;

  constructor(importTest: (filepath: string) => unknown, onTestDone?: (test: Test) => void) {
    this.#importTest = importTest;
    this.#onTestDone = onTestDone;
  }

  importFile(filepath: string, source: VitestRunnerImportSource): unknown {
    if (source === 'setup') throw new Error('graded runs have no setup files');
    return this.#importTest(filepath);
  }

  onBeforeTryTask(test: Test): void {
    const expect = globalExpect!;
    setState({ ...freshAssertionState(), currentTestName: test.fullTestName ?? '' }, expect);
    const context = test.context as LocalContext;
    if (context._local) setState(freshAssertionState(), context.expect);
  }

  onAfterTryTask(test: Test): void {
    const context = test.context as LocalContext;
    const state = getState(context._local ? context.expect : globalExpect!);
    const { assertionCalls, expectedAssertionsNumber, expectedAssertionsNumberErrorGen, isExpectingAssertions, isExpectingAssertionsError } = state;
    if (expectedAssertionsNumber !== null && assertionCalls !== expectedAssertionsNumber) throw expectedAssertionsNumberErrorGen!();
    if (isExpectingAssertions === true && assertionCalls === 0) throw isExpectingAssertionsError;
  }

  onAfterRunTask(test: Test): void {
    this.#onTestDone?.(test);
  }

  /** `test('…', ({ expect }) => …)`: a per-test expect, made on first use, as in Vitest. */
  extendTaskContext(context: TestContext): TestContext {
    let local: ExpectStatic | undefined;
    Object.defineProperty(context, 'expect', {
      get() {
        return (local ??= createExpect(context.task));
      },
    });
    Object.defineProperty(context, '_local', {
      get() {
        return local !== undefined;
      },
    });
    return context;
  }
}

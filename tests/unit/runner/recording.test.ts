/**
 * Replays of failed tests (labs/harness/runner/recorder.ts), recorded by the one runner in plain
 * Node as the browser records them: only failed tests carry one, the assertion's evidence is marked,
 * long runs are cut with a summary, and `npm run lab -- … --json` prints exactly what it printed before.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { buildLabBundle, bundleKit } from '../../../scripts/build-lab-assets.ts';
import { findLab, mistakeFiles, ROOT, starterFiles, type LabFolder } from '../../../scripts/lab-runner/catalog.ts';
import { runLabInProcess } from '../../../scripts/lab-runner/run-node.ts';
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { jsonSummary } from '../../../labs/harness/report.ts';
import { stepResults, type ReplayEntry } from '../../../labs/harness/results.ts';
import { runGraded, type FileOutcome, type GradedRunInput } from '../../../labs/harness/runner/index.ts';

let lab: LabFolder;
let bundle: LabBundle;
let kitCode: string;

beforeAll(async () => {
  lab = findLab('clones');
  [bundle, kitCode] = await Promise.all([buildLabBundle(lab), bundleKit()]);
});

const ROUND_ROBIN = 'tests/01-round-robin.test.ts';

function run(files: Record<string, string>, overrides: Partial<GradedRunInput> = {}): Promise<FileOutcome[]> {
  return runGraded({ kitCode, tests: bundle.tests, files: { ...bundle.starter, ...files }, editable: lab.lab.editable, testFiles: [ROUND_ROBIN], ...overrides });
}

test("a failed test's replay has its calls in time order, and the requests its assertion counted marked", async () => {
  const [outcome] = await run({});
  const replay = outcome!.replays!.find((r) => r.test === '300 requests through the balancer give each app server 100')!;
  expect(replay.evidence).toEqual([{ label: 'the requests the balancer passed on, and which server got each', matched: expect.any(Number) }]);
  const [cluster] = replay.clusters;
  expect(cluster!.seed).toBe(1);
  expect(cluster!.nodes.map((n) => n.name)).toEqual(expect.arrayContaining(['lb', 'app-1', 'app-2', 'app-3']));
  const times = cluster!.entries.map((e) => e.at);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  const marked = cluster!.entries.filter((e): e is Extract<ReplayEntry, { kind: 'call' }> => e.kind === 'call' && e.evidence !== undefined);
  // The starter sends every request to app-1: the marked calls are the balancer's, all to app-1.
  expect(marked.length).toBe(replay.evidence[0]!.matched);
  expect(marked.length).toBeGreaterThan(0);
  expect(new Set(marked.map((e) => `${e.from} → ${e.to} ${e.what}`))).toEqual(new Set(['lb → app-1 GET /']));
});

test('passed tests carry no replay, and a run records the same twice', async () => {
  const [solved] = await run(bundle.solution);
  expect(solved!.tests.every((t) => t.passed)).toBe(true);
  expect(solved!.replays).toBeUndefined();
  const [again] = await run({});
  const [first] = await run({});
  expect(again!.replays).toEqual(first!.replays);
});

test('recordings stay within their limits: head and tail per cluster, and a total for the run', async () => {
  const [outcome] = await run({}, { recordingLimits: { head: 10, tail: 20 } });
  const [cluster] = outcome!.replays![0]!.clusters;
  expect(cluster!.entries.length).toBeLessThanOrEqual(30);
  // 300 requests through the balancer: far more than 30 events, so the replay was cut and says what it left out.
  expect(cluster!.cut).toMatchObject({ at: expect.any(Number), dropped: expect.any(Number) });
  expect(cluster!.cut!.dropped).toBeGreaterThan(500);
  expect(cluster!.cut!.summary.map((s) => s.what)).toEqual(expect.arrayContaining(['client → lb GET /', 'lb → app-1 GET /']));
  const [full] = await run({}, { recordingLimits: { run: 5 } });
  for (const replay of full!.replays!) {
    expect(replay.clusters).toEqual([]);
    expect(replay.omitted).toMatch(/left out/);
  }
});

test('without recording, outcomes and step results are as before, and --json prints exactly the same line', async () => {
  const [outcome] = await run({}, { record: false });
  expect(outcome!.replays).toBeUndefined();
  const step = lab.lab.steps[0]!;
  const result = stepResults(lab.name, [step], [outcome!], 'not run');
  expect(Object.keys(result.steps[0]!)).toEqual(['id', 'passed', 'tests']);
  const recorded = stepResults(lab.name, [step], await run({}), 'not run');
  expect(recorded.steps[0]!.replays!.length).toBeGreaterThan(0);
  expect(jsonSummary(recorded)).toBe(jsonSummary(result));
  const cli = spawnSync(process.execPath, [join(ROOT, 'scripts/lab.ts'), 'clones', '--starter', '--step', step.id, '--json'], { cwd: ROOT, encoding: 'utf8' });
  expect(cli.stderr).toBe('');
  expect(cli.stdout).toBe(`{"lab":"${lab.name}","steps":[{"id":"${step.id}","passed":false}]}\n`);
  // The CLI builds the lab and runs it in a child process: seconds on a busy machine.
}, 30_000);

test('evidence says what is wrong with its arguments, and graded tests may not take over the recorder', async () => {
  const { evidence } = await import('../../../labs/kit/index.ts');
  expect(() => evidence('', [])).toThrow(/the label says in words/);
  expect(() => evidence('requests', 'lb' as never)).toThrow(/array of events or a function/);
  // Outside a recorded run, nothing listens: no error, no effect.
  expect(() => evidence('requests', () => true)).not.toThrow();
  const { checkGradedTestSource } = await import('../../../labs/harness/graded-api.ts');
  expect(checkGradedTestSource('x.test.ts', "import { watchClusters } from '@scale-lab/kit';")).toEqual([expect.stringMatching(/watchClusters belongs to the runner/)]);
});

/** The entries of every replay of a run of the lab with these files (in this process, as the grader check runs it). */
async function replayedEntries(lab: LabFolder, files: Record<string, string>): Promise<ReplayEntry[]> {
  const result = await runLabInProcess(lab, files);
  return result.steps.flatMap((s) => s.replays ?? []).flatMap((r) => r.clusters.flatMap((c) => c.entries));
}

test('queue operations are in the replay as messages from the node that asked to the queue, with the message they moved', async () => {
  // The solution uses the queue; any wrong answer to its queue step fails a test there, which then has a replay.
  const asynchronism = findLab('asynchronism');
  const mistake = asynchronism.mistakes.find((m) => m.step === 'acknowledge-after-the-work')!;
  const entries = await replayedEntries(asynchronism, mistakeFiles(asynchronism, mistake));
  const ops = entries.filter((e): e is Extract<ReplayEntry, { kind: 'op' }> => e.kind === 'op' && /^(send|receive|delete|dead-letter) /.test(e.what));
  // The tests put the jobs in the queue themselves (notes on the queue's line); workers receive and delete them.
  expect([...new Set(ops.map((e) => e.what.split(' ')[0]))].sort()).toEqual(expect.arrayContaining(['delete', 'receive']));
  expect(new Set(ops.map((e) => e.from)).size).toBeGreaterThan(1);
  for (const op of ops) expect(op.what).toMatch(new RegExp(`^[a-z-]+ ${op.to}-\\d+$`));
});

test("HTTP caches' answers are in the replay as notes on the cache's node", async () => {
  const cdn = findLab('cdn');
  const entries = await replayedEntries(cdn, starterFiles(cdn));
  const notes = entries.filter((e): e is Extract<ReplayEntry, { kind: 'note' }> => e.kind === 'note');
  expect(notes.length).toBeGreaterThan(0);
  for (const note of notes) expect(note.text).toMatch(/^cache (hit|stale|revalidated|miss|pass) \S+/);
  // The starter's pages are not cacheable: the edges miss.
  expect(new Set(notes.map((n) => n.text.split(' ')[1]))).toContain('miss');
});

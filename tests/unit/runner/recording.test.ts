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
  const [outcome] = await run({}, { recordingLimits: { head: 10, tail: 20, evidence: 0 } });
  const [cluster] = outcome!.replays![0]!.clusters;
  expect(cluster!.entries.length).toBeLessThanOrEqual(30);
  // 300 requests through the balancer: far more than 30 events, so the replay was cut and says what it left out.
  expect(cluster!.cuts).toEqual([expect.objectContaining({ at: expect.any(Number), dropped: expect.any(Number) })]);
  expect(cluster!.cuts![0]!.dropped).toBeGreaterThan(500);
  expect(cluster!.cuts![0]!.summary.map((s) => s.what)).toEqual(expect.arrayContaining(['client → lb GET /', 'lb → app-1 GET /']));
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

test('evidence that falls between head and tail stays in the replay, with the cut split around it', async () => {
  const limits = { head: 10, tail: 20 };
  const [without] = await run({}, { recordingLimits: { ...limits, evidence: 0 } });
  const [outcome] = await run({}, { recordingLimits: { ...limits, evidence: 25 } });
  const name = '300 requests through the balancer give each app server 100';
  const before = without!.replays!.find((r) => r.test === name)!;
  const replay = outcome!.replays!.find((r) => r.test === name)!;
  // The 300 requests are named as events; 30 kept events hold few of them, the middle the rest: 25 more shown.
  expect(replay.evidence[0]!.matched).toBe(before.evidence[0]!.matched + 25);
  const [cluster] = replay.clusters;
  const cuts = cluster!.cuts!;
  // The requests went one after another: the 25 kept are one stretch, with the client's calls between them
  // shown rather than cut into cuts of one message each; cut before and after, where more was left out.
  const head = before.clusters[0]!.cuts![0]!.at;
  const tail = before.clusters[0]!.entries.length - head;
  const between = cluster!.entries.slice(head, cluster!.entries.length - tail);
  expect(cuts.length).toBeGreaterThanOrEqual(1);
  for (const cut of cuts) expect([head, head + between.length]).toContain(cut.at);
  const marked = between.filter((e) => 'evidence' in e && e.evidence);
  expect(marked.length).toBe(25);
  for (const e of marked) expect(e).toMatchObject({ kind: 'call', from: 'lb', to: 'app-1', evidence: [0] });
  for (const e of between.filter((e) => !marked.includes(e))) expect(e).toMatchObject({ kind: 'call', from: 'client', to: 'lb' });
  expect(between.length).toBeLessThan(25 * 4);
  for (const cut of cuts) expect(cut.from).toBeLessThanOrEqual(cut.to);
  // The cuts still count every message left out and not shown, and say what they were.
  expect(cuts.reduce((sum, c) => sum + c.dropped, 0) + between.length).toBe(before.clusters[0]!.cuts![0]!.dropped);
  const total = (replay: typeof before, what: string) => replay.clusters[0]!.cuts!.reduce((sum, c) => sum + (c.summary.find((s) => s.what === what)?.count ?? 0), 0);
  expect(total(replay, 'client → lb GET /') + between.length - 25).toBe(total(before, 'client → lb GET /'));
  expect(total(replay, 'lb → app-1 GET /') + 25).toBe(total(before, 'lb → app-1 GET /'));
});

/** Runs graded tests written here (CommonJS, as bundled) against the Clones starter. */
async function runProbe(body: string, limits: GradedRunInput['recordingLimits']) {
  const code = `const { test, expect } = require('vitest');\nconst { evidence } = require('@scale-lab/kit');\nconst { createClonesCluster } = require('../starter/cluster.ts');\n${body}`;
  const [outcome] = await run({}, { tests: { ...bundle.tests, 'tests/probe.test.ts': code }, testFiles: ['tests/probe.test.ts'], recordingLimits: limits });
  expect(outcome!.error).toBeUndefined();
  return outcome!.replays!;
}

test('a test over events finds them between head and tail too, as far back as the recorder keeps them', async () => {
  const body = `test('probe', async () => {
    const cluster = createClonesCluster();
    for (let i = 0; i < 40; i++) await cluster.fetch('http://lb/item/' + i);
    evidence('the balancer passed on /item/7', (e) => e.type === 'request' && e.from === 'lb' && e.path === '/item/7');
    evidence('the balancer passed on /item/30', (e) => e.type === 'request' && e.from === 'lb' && e.path === '/item/30');
    expect(1).toBe(2);
  });`;
  const [replay] = await runProbe(body, { head: 10, tail: 20 });
  expect(replay!.evidence.map((e) => e.matched)).toEqual([1, 1]);
  const [cluster] = replay!.clusters;
  const marked = cluster!.entries.filter((e) => 'evidence' in e && e.evidence);
  expect(marked).toEqual([expect.objectContaining({ from: 'lb', to: 'app-1', what: 'GET /item/7', evidence: [0] }), expect.objectContaining({ what: 'GET /item/30', evidence: [1] })]);
  expect(cluster!.cuts!.length).toBe(3);
  // Left out so long ago that the recorder no longer holds it: /item/7 is then counted in the cut, not shown.
  const [short] = await runProbe(body, { head: 10, tail: 20, middle: 40 });
  expect(short!.evidence.map((e) => e.matched)).toEqual([0, 1]);
});

test('a test over events marks only the cluster the test made last; events given mark their own clusters', async () => {
  const body = `test('probe', async () => {
    const all = [];
    for (const seed of [1, 2, 3]) {
      const cluster = createClonesCluster({ seed });
      cluster.metrics.on((e) => { if (e.type === 'request' && e.from === 'lb') all.push(e); });
      for (let i = 0; i < 3; i++) await cluster.fetch('http://lb/');
    }
    evidence('the requests the balancer passed on', (e) => e.type === 'request' && e.from === 'lb');
    evidence('the requests of every seed', all);
    expect(1).toBe(2);
  });`;
  const [replay] = await runProbe(body, {});
  const marked = (label: number) => replay!.clusters.map((c) => c.entries.filter((e) => 'evidence' in e && e.evidence?.includes(label)).length);
  expect(replay!.clusters.map((c) => c.seed)).toEqual([1, 2, 3]);
  expect(marked(0)).toEqual([0, 0, 3]);
  expect(marked(1)).toEqual([3, 3, 3]);
  expect(replay!.evidence.map((e) => e.matched)).toEqual([3, 9]);
});

test('a call still waiting when the test ends is in the replay, without an answer, until the end', async () => {
  const body = `test('probe', async () => {
    const cluster = createClonesCluster();
    await cluster.fetch('http://lb/');
    cluster.hang('app-1');
    cluster.hang('app-2');
    cluster.hang('app-3');
    const waiting = [];
    cluster.metrics.on((e) => { if (e.type === 'sent' && e.from === 'client') waiting.push(e); });
    void cluster.fetch('http://lb/hangs').catch(() => {});
    await cluster.sleep(5000);
    evidence('the request that got no answer', waiting);
    expect(1).toBe(2);
  });`;
  const [replay] = await runProbe(body, {});
  const calls = replay!.clusters[0]!.entries.filter((e): e is Extract<ReplayEntry, { kind: 'call' }> => e.kind === 'call');
  const open = calls.filter((e) => e.unanswered);
  // The client's call to the balancer, and the balancer's to a hung server: sent, never answered, by the end at 5 s.
  expect(open.map((e) => `${e.from} → ${e.to} ${e.what}`).sort()).toEqual(['client → lb GET /hangs', expect.stringMatching(/^lb → app-\d GET \/hangs$/)]);
  for (const e of open) {
    expect(e.status).toBeUndefined();
    expect(e.failure).toBeUndefined();
    expect(e.end).toBeGreaterThanOrEqual(e.at + 4900);
  }
  expect(open.find((e) => e.from === 'client')!.evidence).toEqual([0]);
  expect(replay!.evidence[0]!.matched).toBe(1);
  // The answered call before the hang has an answer, and is not counted as waiting.
  expect(calls.filter((e) => e.status === 200).length).toBeGreaterThan(0);
  const times = replay!.clusters[0]!.entries.map((e) => e.at);
  expect(times).toEqual([...times].sort((a, b) => a - b));
});

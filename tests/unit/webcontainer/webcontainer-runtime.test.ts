import { describe, expect, test } from 'vitest';
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { stepResults, type FileOutcome, type StepResult, type TestReplay } from '../../../labs/harness/results.ts';
import { RuntimeError, type OutputLine } from '../../../src/lab-runtime/runtime.ts';
import { ALIVE_LINE, CHANNEL_ENV, ERROR_PREFIX, FILE_PREFIX, outcomeLine, replaysFile } from '../../../labs/harness/protocol.ts';
import { stalledMessage, WebContainerRuntime, type FetchLike } from '../../../src/lab-runtime/webcontainer/webcontainer-runtime.ts';
import { ABORTED_MESSAGE, memoryMessage, NOT_RUN_MESSAGE } from '../../../labs/harness/messages.ts';
import { FakeWebContainer, flattenTree, type SpawnRecord } from './fake-webcontainer.ts';

const WASM = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);

const bundle: LabBundle = {
  name: '01-clones',
  version: 'abc123',
  lab: {
    title: 'Clones',
    chapter: '01-clones',
    summary: 'A balancer and three app servers.',
    editable: ['balancer.ts', 'app.ts'],
    cluster: { file: 'cluster.ts', export: 'createClonesCluster', entry: 'lb' },
    steps: [
      { id: 'round-robin', title: 'Round robin', task: 'Rotate.', test: 'tests/01-round-robin.test.ts', hints: ['h'] },
      { id: 'health-checks', title: 'Health', task: 'Check.', test: 'tests/02-health-checks.test.ts', hints: ['h'] },
      { id: 'stateless', title: 'Stateless', task: 'Share.', test: 'tests/03-stateless.test.ts', hints: ['h'] },
    ],
  },
  starter: { 'balancer.ts': 'starter balancer', 'app.ts': 'starter app', 'cluster.ts': 'cluster', 'util/ids.ts': 'ids' },
  solution: { 'balancer.ts': 'solution balancer' },
  tests: { 'tests/01-round-robin.test.ts': 'cjs 1', 'tests/02-health-checks.test.ts': 'cjs 2', 'tests/03-stateless.test.ts': 'cjs 3' },
  runLimitMs: 15_000,
};

const files = { ...bundle.starter, 'balancer.ts': 'the reader’s balancer' };

const outcomes: FileOutcome[] = [
  { file: 'tests/01-round-robin.test.ts', tests: [{ name: 'each server gets 100', passed: true }] },
  {
    file: 'tests/02-health-checks.test.ts',
    tests: [
      { name: 'a dead server leaves the rotation', passed: false, message: '\u001b[31mexpected 3 to be 0\u001b[39m\n    at check (balancer.ts:12:3)' },
      { name: 'it comes back', passed: true },
    ],
  },
  { file: 'tests/03-stateless.test.ts', tests: [], error: 'SyntaxError: app.ts:3:1: Unexpected token' },
];

function assets(): { fetch: FetchLike; urls: string[] } {
  const urls: string[] = [];
  const bodies: Record<string, BodyInit> = {
    '/base/lab-assets/webcontainer/run-tests.mjs': '// run-tests',
    '/base/lab-assets/webcontainer/serve.mjs': '// serve',
    '/base/lab-assets/kit.js': '// kit',
    '/base/lab-assets/sql-wasm.wasm': WASM,
  };
  return {
    urls,
    fetch: async (url) => {
      urls.push(url);
      const body = bodies[url];
      return body === undefined ? new Response('not found', { status: 404 }) : new Response(body);
    },
  };
}

async function mounted(options: { stallTimeoutMs?: number; clusterTimeoutMs?: number } = {}) {
  const wc = new FakeWebContainer();
  const { fetch, urls } = assets();
  const runtime = new WebContainerRuntime({ assetsBase: '/base/lab-assets', boot: async () => wc, fetch, ...options });
  await runtime.mount(bundle, files);
  return { wc, runtime, urls };
}

/** The run's token, which run-tests.mjs prints in every outcome line. */
const tokenOf = (record: SpawnRecord) => String(record.options?.env?.[CHANNEL_ENV] ?? '');

/**
 * What run-tests.mjs prints for `outcomes`, through a terminal: \r\n, colours, heartbeats, chunks cut
 * anywhere; and an outcome line the reader's code printed, without the token, which must stay output.
 */
function terminalOutput(record: SpawnRecord): string {
  const token = tokenOf(record);
  const lines = [
    '\u001b[2mstarting\u001b[22m',
    ALIVE_LINE,
    outcomeLine(outcomes[0]!, token),
    'balancer picked app-2',
    `${ERROR_PREFIX}health check failed`,
    ALIVE_LINE,
    outcomeLine(outcomes[1]!, token),
    '',
    outcomeLine(outcomes[2]!, token),
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

function printInChunks(record: SpawnRecord, text: string, size: number, code = 0): void {
  for (let i = 0; i < text.length; i += size) record.process.write(text.slice(i, i + size));
  record.process.end(code);
}

describe('mount', () => {
  test('mounts the programs, the kit, the wasm as bytes, the bundle and every lab file under lab/', async () => {
    const { wc, urls } = await mounted();
    expect(urls.sort()).toEqual([
      '/base/lab-assets/kit.js',
      '/base/lab-assets/sql-wasm.wasm',
      '/base/lab-assets/webcontainer/run-tests.mjs',
      '/base/lab-assets/webcontainer/serve.mjs',
    ]);
    expect(wc.mounts).toHaveLength(1);
    expect(wc.mounts[0]!.options).toEqual({ mountPoint: '01-clones' });
    expect(wc.removed).toEqual(['01-clones']);
    const tree = flattenTree(wc.mounts[0]!.tree);
    expect(Object.keys(tree).sort()).toEqual([
      'kit.cjs',
      'lab.json',
      'lab/app.ts',
      'lab/balancer.ts',
      'lab/cluster.ts',
      'lab/util/ids.ts',
      'package.json',
      'run-tests.mjs',
      'serve.mjs',
      'sql-wasm.wasm',
    ]);
    expect(JSON.parse(tree['package.json'] as string)).toMatchObject({ type: 'module' });
    expect(tree['run-tests.mjs']).toBe('// run-tests');
    expect(tree['serve.mjs']).toBe('// serve');
    expect(tree['kit.cjs']).toBe('// kit');
    expect(tree['sql-wasm.wasm']).toBeInstanceOf(Uint8Array);
    expect([...(tree['sql-wasm.wasm'] as Uint8Array)]).toEqual([...WASM]);
    expect(JSON.parse(tree['lab.json'] as string)).toEqual(bundle);
    expect(tree['lab/balancer.ts']).toBe('the reader’s balancer');
    expect(tree['lab/util/ids.ts']).toBe('ids');
  });

  test('fetches the assets once, and mounts a clean folder again', async () => {
    const { wc, runtime, urls } = await mounted();
    await runtime.mount(bundle, bundle.starter);
    expect(urls).toHaveLength(4);
    expect(wc.mounts).toHaveLength(2);
    expect(wc.removed).toEqual(['01-clones', '01-clones']);
    expect(flattenTree(wc.mounts[1]!.tree)['lab/balancer.ts']).toBe('starter balancer');
  });

  test('says which asset is missing', async () => {
    const wc = new FakeWebContainer();
    const runtime = new WebContainerRuntime({ assetsBase: '/elsewhere/', boot: async () => wc, fetch: async () => new Response('', { status: 404 }) });
    await expect(runtime.mount(bundle, files)).rejects.toThrow(/Could not load \/elsewhere\/.+ \(HTTP 404\)/);
  });

  test('a cancelled mount rejects as aborted', async () => {
    const wc = new FakeWebContainer();
    const { fetch } = assets();
    const runtime = new WebContainerRuntime({ assetsBase: '/base/lab-assets/', boot: async () => wc, fetch });
    const controller = new AbortController();
    controller.abort();
    await expect(runtime.mount(bundle, files, controller.signal)).rejects.toMatchObject({ name: 'RuntimeError', reason: 'aborted' });
    expect(wc.mounts).toHaveLength(0);
  });

  test('update writes one file of the lab under lab/', async () => {
    const { wc, runtime } = await mounted();
    await runtime.update('app.ts', 'new app');
    await runtime.update('util/ids.ts', 'new ids');
    // Unchanged since the mount or the last update: nothing to write.
    await runtime.update('app.ts', 'new app');
    await runtime.update('cluster.ts', 'cluster');
    expect(wc.writes).toEqual([
      { path: '01-clones/lab/app.ts', data: 'new app' },
      { path: '01-clones/lab/util/ids.ts', data: 'new ids' },
    ]);
    await expect(runtime.update('other.ts', 'x')).rejects.toThrow('other.ts is not a file of the lab 01-clones.');
  });
});

describe('runTests', () => {
  test('spawns node run-tests.mjs in the lab folder, with --steps only when asked', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, terminalOutput(r), 4096);
    await runtime.runTests();
    await runtime.runTests({ steps: ['stateless', 'round-robin'] });
    expect(wc.spawns.map((s) => [s.command, ...s.args])).toEqual([
      ['node', 'run-tests.mjs'],
      ['node', 'run-tests.mjs', '--steps', 'round-robin,stateless'],
    ]);
    expect(wc.spawns[0]!.options).toMatchObject({ cwd: '01-clones', env: { SCALE_LAB_TAGGED: '1' } });
  });

  test("failed tests get the replays run-tests.mjs left in its file, which is removed; a replay of a passed test, another run's file or a damaged one is ignored", async () => {
    const { wc, runtime } = await mounted();
    const replay = (test: string): TestReplay => ({ test, clusters: [{ seed: 1, nodes: [], clients: [], entries: [{ kind: 'log', at: 0, node: 'lb', text: test }] }], evidence: [] });
    let left = '';
    wc.onSpawn = (r) => {
      const path = `01-clones/${replaysFile(tokenOf(r))}`;
      left = path;
      wc.files.set(path, JSON.stringify([
        { file: 'tests/02-health-checks.test.ts', replays: [replay('a dead server leaves the rotation'), replay('it comes back')] },
        { file: 'tests/01-round-robin.test.ts', replays: [replay('each server gets 100')] },
      ]));
      wc.files.set('01-clones/.replays-0000.json', JSON.stringify([{ file: 'tests/02-health-checks.test.ts', replays: [replay('a dead server leaves the rotation'), replay('forged')] }]));
      printInChunks(r, terminalOutput(r), 4096);
    };
    const result = await runtime.runTests();
    expect(result.steps.map((s) => s.replays?.map((r) => r.test))).toEqual([undefined, ['a dead server leaves the rotation'], undefined]);
    expect(wc.removed).toContain(left);

    wc.onSpawn = (r) => {
      wc.files.set(`01-clones/${replaysFile(tokenOf(r))}`, '[{"file": "tests/02-health');
      printInChunks(r, terminalOutput(r), 4096);
    };
    expect(await runtime.runTests()).toEqual(stepResults('01-clones', bundle.lab.steps, outcomes, 'unused'));
  });

  test.each([1, 7, 64, 100_000])('output in chunks of %i characters gives the LabResult stepResults gives, live', async (size) => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, terminalOutput(r), size);
    const output: OutputLine[] = [];
    const live: StepResult[] = [];
    const result = await runtime.runTests({ onOutput: (l) => output.push(l), onStep: (s) => live.push(s) });

    const expected = stepResults('01-clones', bundle.lab.steps, outcomes, 'unused');
    expect(result).toEqual(expected);
    expect(live).toEqual(expected.steps);
    expect(result.steps.map((s) => s.passed)).toEqual([true, false, false]);
    expect(result.steps[1]!.tests[0]!.message).toBe('expected 3 to be 0');
    expect(output).toEqual([
      { stream: 'log', text: 'starting' },
      { stream: 'log', text: 'balancer picked app-2' },
      { stream: 'error', text: 'health check failed' },
    ]);
  });

  test('a step whose file never reported says so', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, `${outcomeLine(outcomes[0]!, tokenOf(r))}\r\n`, 50);
    const result = await runtime.runTests({ steps: ['round-robin', 'health-checks'] });
    expect(result.steps.map((s) => s.id)).toEqual(['round-robin', 'health-checks']);
    expect(result.steps[1]).toMatchObject({ passed: false, tests: [], error: NOT_RUN_MESSAGE });
  });

  test('a process that dies without a verdict is a crash, quoting what it printed', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, 'Segmentation fault\r\n', 10, 139);
    const error = await runtime.runTests().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ reason: 'crash' });
    expect((error as Error).message).toBe('The tests stopped before giving a verdict (node exited with code 139).\nSegmentation fault');
  });

  test('a process that ran out of memory says so, in the reader’s words', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\r\n', 10, 134);
    await expect(runtime.runTests()).rejects.toMatchObject({ name: 'RuntimeError', reason: 'crash', message: memoryMessage() });
  });

  test('an outcome line without the run’s token is output, never a verdict', async () => {
    const { wc, runtime } = await mounted();
    const forged = { file: 'tests/01-round-robin.test.ts', tests: [{ name: 'forged', passed: true }] };
    wc.onSpawn = (r) => printInChunks(r, `${FILE_PREFIX}${JSON.stringify(forged)}\r\n${outcomeLine(outcomes[0]!, tokenOf(r))}\r\n`, 64);
    const output: OutputLine[] = [];
    const result = await runtime.runTests({ steps: ['round-robin'], onOutput: (l) => output.push(l) });
    expect(tokenOf(wc.spawns[0]!)).toMatch(/^[0-9a-f]{32}$/);
    expect(result.steps[0]!.tests).toEqual(stepResults(bundle.name, [bundle.lab.steps[0]!], [outcomes[0]!], '').steps[0]!.tests);
    expect(output.map((l) => l.text)).toEqual([`${FILE_PREFIX}${JSON.stringify(forged)}`]);
  });

  test('a run that keeps printing past the lab’s run limit is stopped, naming the limit', async () => {
    const wc = new FakeWebContainer();
    const { fetch } = assets();
    const runtime = new WebContainerRuntime({ assetsBase: '/base/lab-assets', boot: async () => wc, fetch });
    await runtime.mount({ ...bundle, runLimitMs: 1000 }, files);
    wc.onSpawn = (r) => {
      const beat = setInterval(() => (r.process.killed ? clearInterval(beat) : r.process.write(`${ALIVE_LINE}\r\n`)), 50);
    };
    const started = performance.now();
    await expect(runtime.runTests()).rejects.toMatchObject({ reason: 'timeout', message: stalledMessage(1) });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(wc.spawns[0]!.process.killed).toBe(true);
  });

  test('abort kills the process; the next run works', async () => {
    const { wc, runtime } = await mounted();
    const controller = new AbortController();
    wc.onSpawn = (r) => {
      r.process.write(`${outcomeLine(outcomes[0]!, tokenOf(r))}\r\n`);
      setTimeout(() => controller.abort(), 20);
    };
    const steps: StepResult[] = [];
    await expect(runtime.runTests({ signal: controller.signal, onStep: (s) => steps.push(s) })).rejects.toMatchObject({ name: 'RuntimeError', reason: 'aborted', message: ABORTED_MESSAGE });
    expect(wc.spawns[0]!.process.killed).toBe(true);
    expect(steps.map((s) => s.id)).toEqual(['round-robin']);

    wc.onSpawn = (r) => printInChunks(r, terminalOutput(r), 100);
    expect((await runtime.runTests()).steps).toHaveLength(3);
  });

  test('an already aborted signal spawns nothing', async () => {
    const { wc, runtime } = await mounted();
    const controller = new AbortController();
    controller.abort();
    await expect(runtime.runTests({ signal: controller.signal })).rejects.toMatchObject({ reason: 'aborted' });
    expect(wc.spawns).toHaveLength(0);
  });

  test('a run that goes silent (blocked event loop) is killed with a timeout; the next run works', async () => {
    const { wc, runtime } = await mounted({ stallTimeoutMs: 60 });
    wc.onSpawn = (r) => r.process.write(`${ALIVE_LINE}\r\n`); // then nothing: while (true) {}
    const error = await runtime.runTests().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ reason: 'timeout', message: stalledMessage(1) });
    expect(wc.spawns[0]!.process.killed).toBe(true);

    wc.onSpawn = (r) => printInChunks(r, terminalOutput(r), 100);
    expect((await runtime.runTests()).steps.map((s) => s.passed)).toEqual([true, false, false]);
  });

  test('heartbeats keep a long run alive', async () => {
    const { wc, runtime } = await mounted({ stallTimeoutMs: 80 });
    wc.onSpawn = (r) => {
      let beats = 0;
      const timer = setInterval(() => {
        r.process.write(`${ALIVE_LINE}\r\n`);
        if (++beats === 8) {
          clearInterval(timer);
          printInChunks(r, terminalOutput(r), 100);
        }
      }, 25);
    };
    expect((await runtime.runTests()).steps).toHaveLength(3);
  });

  test('a WebContainer error during a run is a crash, and kills the process', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = () => wc.events.emit('error', { message: 'out of memory' });
    await expect(runtime.runTests()).rejects.toMatchObject({ reason: 'crash', message: 'WebContainer stopped working: out of memory' });
    expect(wc.spawns[0]!.process.killed).toBe(true);
    expect(wc.events.count('error')).toBe(0);
  });

  test('needs a mounted lab', async () => {
    const runtime = new WebContainerRuntime({ assetsBase: '/', boot: async () => new FakeWebContainer(), fetch: assets().fetch });
    await expect(runtime.runTests()).rejects.toThrow('No lab is mounted');
  });
});

describe('startCluster', () => {
  test('spawns node serve.mjs and resolves with the URL WebContainer gives port 3000', async () => {
    const { wc, runtime } = await mounted();
    const lines: OutputLine[] = [];
    wc.onSpawn = (r) => {
      r.process.write('Clones is running on real ports:\r\n  lb  http://127.0.0.1:3000\r\n');
      wc.events.emit('server-ready', 3001, 'https://x--3001.local-credentialless.webcontainer.io');
      wc.events.emit('server-ready', 3000, 'https://x--3000.local-credentialless.webcontainer.io');
    };
    const cluster = await runtime.startCluster({ onOutput: (l) => lines.push(l) });
    expect(wc.spawns.map((s) => [s.command, ...s.args])).toEqual([['node', 'serve.mjs']]);
    expect(wc.spawns[0]!.options).toMatchObject({ cwd: '01-clones', env: { PORT: '3000' } });
    expect(cluster.url).toBe('https://x--3000.local-credentialless.webcontainer.io');

    wc.spawns[0]!.process.write('GET / → lb 200 (3 ms)\r\n');
    await new Promise((r) => setTimeout(r, 10));
    expect(lines.map((l) => l.text)).toEqual(['Clones is running on real ports:', '  lb  http://127.0.0.1:3000', 'GET / → lb 200 (3 ms)']);

    await cluster.stop();
    expect(wc.spawns[0]!.process.killed).toBe(true);
    expect(wc.events.count('server-ready')).toBe(0);
  });

  test('starting again stops the running cluster first', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = () => wc.events.emit('server-ready', 3000, 'https://one');
    await runtime.startCluster();
    await runtime.startCluster();
    expect(wc.spawns.map((s) => s.process.killed)).toEqual([true, false]);
  });

  test('a cluster that exits before serving rejects with what it printed', async () => {
    const { wc, runtime } = await mounted();
    wc.onSpawn = (r) => printInChunks(r, 'The cluster could not be built from your files: SyntaxError\r\n', 16, 1);
    await expect(runtime.startCluster()).rejects.toMatchObject({
      reason: 'crash',
      message: 'The cluster stopped before it could serve (node exited with code 1).\nThe cluster could not be built from your files: SyntaxError',
    });
  });

  test('abort and timeout kill the server', async () => {
    const { wc, runtime } = await mounted({ clusterTimeoutMs: 50 });
    await expect(runtime.startCluster()).rejects.toMatchObject({ reason: 'timeout' });
    expect(wc.spawns[0]!.process.killed).toBe(true);

    const controller = new AbortController();
    wc.onSpawn = () => controller.abort();
    await expect(runtime.startCluster({ signal: controller.signal })).rejects.toMatchObject({ reason: 'aborted' });
    expect(wc.spawns[1]!.process.killed).toBe(true);
  });
});

test('dispose kills every process it started', async () => {
  const { wc, runtime } = await mounted();
  wc.onSpawn = (r) => {
    if (r.args[0] === 'serve.mjs') wc.events.emit('server-ready', 3000, 'https://one');
  };
  await runtime.startCluster();
  const run = runtime.runTests().catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 10));
  runtime.dispose();
  expect(wc.spawns.map((s) => s.process.killed)).toEqual([true, true]);
  await run;
  await expect(runtime.runTests()).rejects.toThrow('disposed');
  expect(wc.tornDown).toBe(false);
});

test('an update asked for during a mount lands in the new mount, after it', async () => {
  const wc = new FakeWebContainer();
  const order: string[] = [];
  const mount = wc.mount.bind(wc);
  wc.mount = async (tree, options) => {
    await new Promise((r) => setTimeout(r, 20));
    order.push('mount');
    return mount(tree, options);
  };
  const writeFile = wc.fs.writeFile;
  wc.fs.writeFile = async (path, data) => {
    order.push(`write ${path}`);
    return writeFile(path, data);
  };
  const runtime = new WebContainerRuntime({ assetsBase: '/base/lab-assets', boot: async () => wc, fetch: assets().fetch });
  await runtime.mount(bundle, files);
  const remount = runtime.mount(bundle, bundle.starter);
  const update = runtime.update('app.ts', 'typed during the mount');
  await Promise.all([remount, update]);
  expect(order).toEqual(['mount', 'mount', 'write 01-clones/lab/app.ts']);
});

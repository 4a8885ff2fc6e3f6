/**
 * The Node programs WebContainer would run, run here with plain Node: the assets are built as the
 * site build builds them, the runtime mounts exactly its tree into a temp folder (NodeWebContainer),
 * and `node run-tests.mjs` must give the verdicts the CLI's child process gives (runLabInNode) for
 * the same files; `node serve.mjs` must serve the reader's cluster.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildLabBundle, bundleKit, sqlWasmPath } from '../../../scripts/build-lab-assets.ts';
import { bundleWebContainerEntry } from '../../../scripts/build-webcontainer-assets.ts';
import { findLab, listFiles, solutionFiles, starterFiles, type LabFolder } from '../../../scripts/lab-runner/catalog.ts';
import { runLabInNode } from '../../../scripts/lab-runner/run-node.ts';
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import type { OutputLine } from '../../../src/lab-runtime/runtime.ts';
import { MOUNTED } from '../../../labs/harness/protocol.ts';
import { buildMountTree, type WebContainerAssets } from '../../../src/lab-runtime/webcontainer/tree.ts';
import { WebContainerRuntime } from '../../../src/lab-runtime/webcontainer/webcontainer-runtime.ts';
import { flattenTree, NodeWebContainer } from './fake-webcontainer.ts';

const LABS = ['clones', 'caching'].filter((topic) => {
  try {
    findLab(topic);
    return true;
  } catch {
    return false;
  }
});

let assets: WebContainerAssets;
const bundles = new Map<string, LabBundle>();

/** The site's lab-assets folder, served from memory. */
async function fetchAsset(url: string): Promise<Response> {
  const path = url.replace(/^\/lab-assets\//, '');
  if (path === 'webcontainer/run-tests.mjs') return new Response(assets.runTests);
  if (path === 'webcontainer/serve.mjs') return new Response(assets.serve);
  if (path === 'kit.js') return new Response(assets.kit);
  if (path === 'sql-wasm.wasm') return new Response(new Uint8Array(assets.sqlWasm));
  return new Response('not found', { status: 404 });
}

beforeAll(async () => {
  const [runTests, serve, kit] = await Promise.all([bundleWebContainerEntry('run-tests.mjs'), bundleWebContainerEntry('serve.mjs'), bundleKit()]);
  assets = { runTests, serve, kit, sqlWasm: new Uint8Array(readFileSync(sqlWasmPath())) };
  for (const topic of LABS) {
    const lab = findLab(topic);
    bundles.set(topic, await buildLabBundle(lab));
  }
}, 120_000);

const wc = new NodeWebContainer();
afterAll(() => wc.teardown());
const runtime = new WebContainerRuntime({ assetsBase: '/lab-assets/', boot: async () => wc, fetch: fetchAsset, stallTimeoutMs: 60_000 });

/** Every file of the lab for one variant: the starter with the variant's editable files over it. */
function variantFiles(lab: LabFolder, variant: 'starter' | 'solution'): { files: Record<string, string> } {
  return { files: variant === 'solution' ? solutionFiles(lab) : starterFiles(lab) };
}


test('the temp folder holds exactly the tree the runtime mounts', async () => {
  const topic = LABS[0]!;
  const lab = findLab(topic);
  const bundle = bundles.get(topic)!;
  const { files } = variantFiles(lab, 'starter');
  await runtime.mount(bundle, files);
  const tree = flattenTree(buildMountTree(assets, bundle, files));
  const dir = join(wc.root, bundle.name);
  expect(listFiles(dir).sort()).toEqual(Object.keys(tree).sort());
  for (const [path, contents] of Object.entries(tree)) {
    expect(new Uint8Array(readFileSync(join(dir, path))), path).toEqual(typeof contents === 'string' ? new Uint8Array(Buffer.from(contents)) : contents);
  }
  expect(readFileSync(join(dir, MOUNTED.runTests), 'utf8')).toBe(assets.runTests);
});

describe.each(LABS)('%s', (topic) => {
  test.each(['starter', 'solution'] as const)(
    'node run-tests.mjs gives the verdicts of the CLI for the %s',
    async (variant) => {
      const lab = findLab(topic);
      const bundle = bundles.get(topic)!;
      const { files } = variantFiles(lab, variant);
      await runtime.mount(bundle, files);

      const output: OutputLine[] = [];
      const [inWebContainer, inNode] = await Promise.all([runtime.runTests({ onOutput: (l) => output.push(l) }), runLabInNode(lab, files, { timeoutMs: 120_000 })]);

      expect(wc.spawned.at(-1)).toMatchObject({ command: 'node', args: ['run-tests.mjs'], cwd: join(wc.root, bundle.name) });
      expect(inWebContainer.steps.map((s) => s.id)).toEqual(lab.lab.steps.map((s) => s.id));
      // Per step: passed, each test's name, verdict and normalized message, and the failed tests'
      // replays (through a file the runtime reads and removes, not the terminal's lines).
      expect(inWebContainer).toEqual(inNode);
      if (variant === 'starter') expect(inWebContainer.steps.every((s) => (s.replays ?? []).length > 0)).toBe(true);
      expect(readdirSync(join(wc.root, bundle.name)).filter((f) => f.startsWith('.replays-'))).toEqual([]);
      expect(inWebContainer.steps.every((s) => s.passed)).toBe(variant === 'solution');
      expect(output.filter((l) => l.text.startsWith('@@'))).toEqual([]);
    },
    180_000,
  );

  test('--steps runs only those steps', async () => {
    const lab = findLab(topic);
    const bundle = bundles.get(topic)!;
    await runtime.mount(bundle, variantFiles(lab, 'solution').files);
    const last = lab.lab.steps.at(-1)!.id;
    const result = await runtime.runTests({ steps: [last] });
    expect(wc.spawned.at(-1)!.args).toEqual(['run-tests.mjs', '--steps', last]);
    expect(result.steps.map((s) => [s.id, s.passed])).toEqual([[last, true]]);
  }, 60_000);

  test('node serve.mjs serves the cluster built from the reader’s files, entry node on port 3000', async () => {
    const lab = findLab(topic);
    const bundle = bundles.get(topic)!;
    await runtime.mount(bundle, variantFiles(lab, 'solution').files);
    const lines: OutputLine[] = [];
    const cluster = await runtime.startCluster({ onOutput: (l) => lines.push(l) });
    try {
      expect(cluster.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const path = topic === 'caching' ? '/products/1' : '/';
      const response = await fetch(`${cluster.url}${path}`);
      expect(response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      expect(lines.map((l) => l.text)).toContain(`  ${lab.lab.cluster.entry.padEnd(8)} http://127.0.0.1:${new URL(cluster.url!).port}   ← start here`);
      expect(lines.some((l) => l.text.startsWith(`GET ${path} → ${lab.lab.cluster.entry} 200`))).toBe(true);
    } finally {
      await cluster.stop();
    }
    expect(wc.spawned.at(-1)).toMatchObject({ command: 'node', args: ['serve.mjs'] });
  }, 60_000);
});

test('the reader’s edit reaches the run: update() then runTests()', async () => {
  const topic = LABS[0]!;
  const lab = findLab(topic);
  const bundle = bundles.get(topic)!;
  await runtime.mount(bundle, variantFiles(lab, 'solution').files);
  const file = lab.lab.editable[0]!;
  await runtime.update(file, `${bundle.starter[file]}\nconst late = Date.now();\n`);
  expect(readFileSync(join(wc.root, bundle.name, 'lab', file), 'utf8')).toContain('Date.now()');
  const result = await runtime.runTests({ steps: [lab.lab.steps[0]!.id] });
  expect(result.steps[0]!.passed).toBe(false);
  expect(JSON.stringify(result.steps[0])).toMatch(/uses Date\.now\(\)/);
}, 60_000);

test('a reader’s endless loop is stopped, and the next run works', async () => {
  const topic = LABS[0]!;
  const lab = findLab(topic);
  const bundle = bundles.get(topic)!;
  const looping = new WebContainerRuntime({ assetsBase: '/lab-assets/', boot: async () => wc, fetch: fetchAsset, stallTimeoutMs: 3000 });
  const { files } = variantFiles(lab, 'solution');
  await looping.mount(bundle, files);
  const file = lab.lab.editable[0]!;
  await looping.update(file, `${files[file]}\nwhile (true) {}\n`);
  const started = performance.now();
  await expect(looping.runTests()).rejects.toMatchObject({ reason: 'timeout' });
  expect(performance.now() - started).toBeLessThan(10_000);
  await looping.update(file, files[file]!);
  expect((await looping.runTests({ steps: [lab.lab.steps[0]!.id] })).steps[0]!.passed).toBe(true);
  looping.dispose();
}, 60_000);

test('the mounted programs need nothing installed: every run above had no node_modules to resolve from', () => {
  // The temp folder is outside the project, so no folder up from it holds the project's node_modules.
  const dir = join(wc.root, bundles.get(LABS[0]!)!.name);
  for (let up = dir; up !== dirname(up); up = dirname(up)) expect(existsSync(join(up, 'node_modules')), up).toBe(false);
  expect(process.env.NODE_PATH ?? '').toBe('');
});

/**
 * The lab to take away: the zip holds what WebContainer mounts (plus README.txt), and, unzipped,
 * `node run-tests.mjs` grades it with plain Node (the machine's own, 20 or later, when it has one);
 * uploads are matched by path or name, and refused in plain words when they cannot be the lab's.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LabBundle } from '../../labs/harness/bundle.ts';
import { buildLabBundle, bundleKit, sqlWasmPath } from '../../scripts/build-lab-assets.ts';
import { bundleWebContainerEntry } from '../../scripts/build-webcontainer-assets.ts';
import { findLab, solutionFiles, starterFiles } from '../../scripts/lab-runner/catalog.ts';
import { lineChanges, MAX_FILE_BYTES, MAX_UPLOAD_BYTES, packLab, readmeText, readUpload, uploadChanges, type Upload } from '../../src/lab-runtime/lab-archive.ts';
import { mountedFiles, type WebContainerAssets } from '../../src/lab-runtime/webcontainer/tree.ts';

const FAKE_ASSETS: WebContainerAssets = { runTests: '// run-tests', serve: '// serve', kit: '// kit', sqlWasm: new Uint8Array([0, 97, 115, 109]) };

/** A small lab with two editable files and one provided file. */
const BUNDLE: LabBundle = {
  name: '01-clones',
  version: 'v1',
  lab: {
    title: 'Put three clones behind your balancer',
    chapter: '01-clones',
    summary: 's',
    editable: ['balancer.ts', 'app.ts'],
    steps: [{ id: 'round-robin', title: 'Round robin', task: 't', test: 'tests/01.test.ts', hints: ['h'] }],
    cluster: { file: 'cluster.ts', export: 'createClonesCluster', entry: 'lb' },
  },
  starter: { 'balancer.ts': 'export const b = 1;\n', 'app.ts': 'export const a = 1;\n', 'cluster.ts': 'export const c = 1;\n' },
  solution: { 'balancer.ts': 'export const b = 2; // the answer\n' },
  tests: { 'tests/01.test.ts': '// test' },
  runLimitMs: 15_000,
};

const file = (name: string, text: string | Uint8Array): Upload => {
  const bytes = typeof text === 'string' ? strToU8(text) : text;
  return { name, size: bytes.length, bytes };
};
const zipOf = (name: string, entries: Record<string, string | Uint8Array>): Upload => file(name, zipSync(Object.fromEntries(Object.entries(entries).map(([p, t]) => [p, typeof t === 'string' ? strToU8(t) : t]))));

describe('packLab', () => {
  const files = { ...BUNDLE.starter, 'balancer.ts': 'export const b = 42;\n' };
  const entries = unzipSync(packLab(FAKE_ASSETS, BUNDLE, files));

  test('holds, under <lab>/, exactly what WebContainer mounts and a README', () => {
    const mounted = Object.keys(mountedFiles(FAKE_ASSETS, BUNDLE, files)).map((p) => `01-clones/${p}`);
    expect(Object.keys(entries).sort()).toEqual([...mounted, '01-clones/README.txt'].sort());
    expect(new TextDecoder().decode(entries['01-clones/lab/balancer.ts'])).toBe('export const b = 42;\n');
    expect(entries['01-clones/sql-wasm.wasm']).toEqual(FAKE_ASSETS.sqlWasm);
  });

  test('leaves the solution out of lab.json, and nothing else', () => {
    const packed = JSON.parse(new TextDecoder().decode(entries['01-clones/lab.json'])) as LabBundle;
    expect(packed.solution).toEqual({});
    expect({ ...packed, solution: BUNDLE.solution }).toEqual(BUNDLE);
  });

  test('the README names the command, the --files line for a clone, and the way back', () => {
    const readme = readmeText(BUNDLE);
    expect(readme).toContain('node run-tests.mjs');
    expect(readme).toContain('npm run lab -- clones --files 01-clones/lab');
    expect(readme).toContain('Upload files');
    expect(new TextDecoder().decode(entries['01-clones/README.txt'])).toBe(readme);
  });

  test('what it packs reads back as the same files', () => {
    const read = readUpload(BUNDLE, [file('01-clones.zip', packLab(FAKE_ASSETS, BUNDLE, files))]);
    expect(read).toEqual({ files: { 'balancer.ts': 'export const b = 42;\n', 'app.ts': 'export const a = 1;\n' }, problems: [], skipped: [] });
  });
});

describe('readUpload', () => {
  test('single files are matched by name', () => {
    expect(readUpload(BUNDLE, [file('app.ts', 'x')]).files).toEqual({ 'app.ts': 'x' });
  });

  test('a file the lab does not have is refused, naming the files it has', () => {
    expect(readUpload(BUNDLE, [file('notes.ts', 'x')]).problems).toEqual(['notes.ts is not a file of this lab (its files: balancer.ts, app.ts).']);
  });

  test('a read-only file with changes is left out, saying so; unchanged, it passes in silence', () => {
    const changed = readUpload(BUNDLE, [zipOf('mine.zip', { 'lab/balancer.ts': 'b', 'lab/cluster.ts': 'mine' })]);
    expect(changed.files).toEqual({ 'balancer.ts': 'b' });
    expect(changed.skipped).toEqual(['cluster.ts comes with the lab and cannot be changed here, so your version of it was left out.']);
    expect(readUpload(BUNDLE, [zipOf('mine.zip', { 'lab/balancer.ts': 'b', 'lab/cluster.ts': BUNDLE.starter['cluster.ts']! })]).skipped).toEqual([]);
  });

  test('a zip without a lab folder works; a copy outside lab/ loses to the one inside; two copies are refused', () => {
    expect(readUpload(BUNDLE, [zipOf('flat.zip', { 'balancer.ts': 'flat' })]).files).toEqual({ 'balancer.ts': 'flat' });
    expect(readUpload(BUNDLE, [zipOf('z.zip', { 'x/lab/balancer.ts': 'real', 'x/backup/balancer.ts': 'old' })]).files).toEqual({ 'balancer.ts': 'real' });
    expect(readUpload(BUNDLE, [zipOf('z.zip', { 'a/lab/balancer.ts': '1', 'b/lab/balancer.ts': '2' })]).problems).toEqual(['balancer.ts was chosen 2 times (z.zip: a/lab/balancer.ts, z.zip: b/lab/balancer.ts): keep one.']);
    expect(readUpload(BUNDLE, [file('balancer.ts', '1'), zipOf('z.zip', { 'balancer.ts': '2' })]).problems[0]).toMatch(/^balancer\.ts was chosen 2 times/);
  });

  test('other files of the zip are named as left out; the kit, the programs and OS litter are not', () => {
    const read = readUpload(BUNDLE, [zipOf('z.zip', { 'x/lab/app.ts': 'a', 'x/notes.md': 'n', 'x/run-tests.mjs': 'r', 'x/kit.cjs': 'k', '__MACOSX/x/._app.ts': 'm', 'x/.DS_Store': 'd' })]);
    expect(read.files).toEqual({ 'app.ts': 'a' });
    expect(read.skipped).toEqual(['Not files of this lab, so left out: x/notes.md.']);
  });

  test('too large, not text, not a zip, nothing of the lab, an escaping path: refused in plain words', () => {
    const big = 'x'.repeat(MAX_FILE_BYTES + 1);
    expect(readUpload(BUNDLE, [file('app.ts', big)]).problems).toEqual(['app.ts is 201 KB, more than a lab file can be (200 KB).']);
    expect(readUpload(BUNDLE, [zipOf('z.zip', { 'lab/app.ts': big })]).problems).toEqual(['z.zip: lab/app.ts is 201 KB, more than a lab file can be (200 KB).']);
    expect(readUpload(BUNDLE, [file('app.ts', new Uint8Array([0xff, 0xfe, 0x00]))]).problems).toEqual(['app.ts is not a text file (it is not UTF-8).']);
    expect(readUpload(BUNDLE, [file('work.zip', 'not really a zip')]).problems).toEqual(['work.zip is not a zip file this page can read.']);
    expect(readUpload(BUNDLE, [{ name: 'huge.zip', size: MAX_UPLOAD_BYTES + 1, bytes: new Uint8Array() }]).problems).toEqual(['huge.zip is 20,001 KB; a lab\'s files fit in far less (at most 20,000 KB).']);
    expect(readUpload(BUNDLE, [zipOf('z.zip', { 'other/main.ts': 'x' })]).problems).toEqual(["None of this lab's files were found in what you chose (looked for balancer.ts, app.ts)."]);
    expect(readUpload(BUNDLE, [zipOf('z.zip', { '../balancer.ts': 'x', 'lab/app.ts': 'a' })]).files).toEqual({ 'app.ts': 'a' });
  });
});

describe('what an upload would change', () => {
  test('counts lines removed and added, and leaves unchanged files out', () => {
    expect(lineChanges('a\nb\nc\n', 'a\nB\nc\nd\n')).toEqual({ removed: 1, added: 2 });
    expect(lineChanges('same', 'same')).toEqual({ removed: 0, added: 0 });
    const current = { 'balancer.ts': 'one\ntwo\n', 'app.ts': 'a' };
    expect(uploadChanges(BUNDLE, current, { 'app.ts': 'a', 'balancer.ts': 'one\n2\n' })).toEqual([{ file: 'balancer.ts', removed: 1, added: 1 }]);
  });
});

describe('unzipped, node run-tests.mjs grades the files with Node alone', () => {
  const lab = findLab('clones');
  let assets: WebContainerAssets;
  let bundle: LabBundle;
  const dir = mkdtempSync(join(tmpdir(), 'scale-lab-archive-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    const [runTests, serve, kit] = await Promise.all([bundleWebContainerEntry('run-tests.mjs'), bundleWebContainerEntry('serve.mjs'), bundleKit()]);
    assets = { runTests, serve, kit, sqlWasm: new Uint8Array(readFileSync(sqlWasmPath())) };
    bundle = await buildLabBundle(lab);
  }, 120_000);

  /** The machine's own Node when it is 20 or later (this project's scripts run on Node 24), else this one. */
  const plainNode = (() => {
    const found = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
    return found.status === 0 && Number(/^v(\d+)/.exec(found.stdout)?.[1]) >= 20 ? '/usr/bin/node' : process.execPath;
  })();

  function unzipAndGrade(variant: string, files: Record<string, string>, args: string[] = []) {
    const where = join(dir, variant);
    for (const [path, bytes] of Object.entries(unzipSync(packLab(assets, bundle, files)))) {
      mkdirSync(dirname(join(where, path)), { recursive: true });
      writeFileSync(join(where, path), bytes);
    }
    return spawnSync(plainNode, ['run-tests.mjs', ...args], { cwd: join(where, bundle.name), encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 });
  }

  test('the solution passes every step (exit 0)', () => {
    const run = unzipAndGrade('solution', solutionFiles(lab));
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`${lab.lab.steps.length} of ${lab.lab.steps.length} steps passed.`);
    expect(run.status).toBe(0);
  }, 60_000);

  test('the starter fails each step with its message (exit 1), and --json prints the CLI’s line', () => {
    const run = unzipAndGrade('starter', starterFiles(lab));
    expect(run.stdout).toContain(`0 of ${lab.lab.steps.length} steps passed.`);
    for (const step of lab.lab.steps) expect(run.stdout).toContain(`✗ ${step.title}`);
    expect(run.status).toBe(1);
    const json = unzipAndGrade('starter-json', starterFiles(lab), ['--json']);
    expect(JSON.parse(json.stdout.trim().split('\n').at(-1)!)).toEqual({ lab: lab.name, steps: lab.lab.steps.map((s) => ({ id: s.id, passed: false })) });
  }, 60_000);
});

/**
 * node scripts/build-lab-assets.ts [outDir]
 *
 * Prepares everything the browser Worker runtime needs, so that nothing is installed or bundled in
 * the reader's browser. Writes into public/lab-assets/ (default):
 *   <lab>.json       a LabBundle per lab: starter and solution files, each step's graded test
 *                    bundled to CommonJS, a content hash, and the run limit (ten times the
 *                    solution's graded run measured here, at least 15 s)
 *   kit.js           @scale-lab/kit bundled to CommonJS for the browser (sql.js's browser build)
 *   sql-wasm.wasm    the SQLite WebAssembly that build loads
 *   kit-types/       the kit's declaration files for the editor, and index.json with all of them
 * Output is deterministic: the same sources give byte-identical files, and files that did not
 * change are not rewritten (a running dev server is not disturbed for nothing).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { build, type Plugin } from 'esbuild';
import ts from 'typescript';
import { MIN_RUN_LIMIT_MS, runLimitFor, type LabBundle } from '../labs/harness/bundle.ts';
import { runBundleInProcess } from '../labs/harness/node/node-host.ts';
import { allLabs, listFiles, ROOT, type LabFolder } from './lab-runner/catalog.ts';

export const KIT_DIR = join(ROOT, 'labs', 'kit');
export const DEFAULT_OUT_DIR = join(ROOT, 'public', 'lab-assets');
/** The file name the Worker fetches the SQLite WebAssembly from. */
export const WASM_FILE = 'sql-wasm.wasm';

const posix = (path: string) => path.split(sep).join('/');

function readTree(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * esbuild plugin for graded tests: `vitest`, `@scale-lab/kit` and the lab's own files stay outside
 * the bundle, as `require('vitest')`, `require('@scale-lab/kit')`, `require('../starter/<file>')`;
 * the runner resolves them at run time, to the files under test. Relative helpers are bundled.
 */
function gradedTestExternals(lab: LabFolder): Plugin {
  const starterDir = join(lab.dir, 'starter') + sep;
  return {
    name: 'scale-lab-graded-test-externals',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return null;
        if (args.path === 'vitest' || args.path === '@scale-lab/kit') return { path: args.path, external: true };
        if (args.path.startsWith('.')) {
          const target = resolve(args.resolveDir, args.path);
          // Test files sit in tests/ (the lab schema says so): from there the lab's files are ../starter/.
          if (target.startsWith(starterDir)) return { path: `../starter/${posix(relative(starterDir, target))}`, external: true };
          return null;
        }
        const from = posix(relative(lab.dir, args.importer));
        return { errors: [{ text: `${lab.name}/${from} imports "${args.path}": graded tests may import only vitest, @scale-lab/kit, the lab's starter files and relative helpers` }] };
      });
    },
  };
}

/** Each step's test file bundled to CommonJS, by its path in the lab (e.g. "tests/01-round-robin.test.ts"). */
export async function bundleLabTests(lab: LabFolder): Promise<Record<string, string>> {
  const tests: Record<string, string> = {};
  // One build per step: each test file is its own module graph, like a Vitest test file.
  await Promise.all(
    lab.lab.steps.map(async (step) => {
      const result = await build({
        entryPoints: [join(lab.dir, step.test)],
        absWorkingDir: lab.dir,
        bundle: true,
        write: false,
        format: 'cjs',
        platform: 'browser',
        target: 'es2022',
        charset: 'utf8',
        legalComments: 'none',
        logLevel: 'silent',
        plugins: [gradedTestExternals(lab)],
      });
      tests[step.test] = result.outputFiles[0]!.text;
    }),
  );
  return Object.fromEntries(lab.lab.steps.map((s) => [s.test, tests[s.test]!]));
}

/** A short hash of every file of the lab: changes whenever any of them changes. */
export function labVersion(lab: LabFolder): string {
  const hash = createHash('sha256');
  for (const file of listFiles(lab.dir)) hash.update(`${file}\0`).update(readFileSync(join(lab.dir, file))).update('\0');
  return hash.digest('hex').slice(0, 12);
}

/** The LabBundle the page loads for one lab; its run limit is the least one unless measured (measureRunLimit). */
export async function buildLabBundle(lab: LabFolder, runLimitMs = MIN_RUN_LIMIT_MS): Promise<LabBundle> {
  const starter = readTree(join(lab.dir, 'starter'));
  const solution = Object.fromEntries(Object.entries(readTree(join(lab.dir, 'solution'))).filter(([f, text]) => starter[f] !== text));
  return { name: lab.name, version: labVersion(lab), lab: lab.lab, starter, solution, tests: await bundleLabTests(lab), runLimitMs };
}

/**
 * Runs the solution's graded tests here and returns the lab's run limit (runLimitFor), with the time
 * measured: the second of two runs, as a reader's runs after the first find SQLite compiled.
 */
export async function measureRunLimit(bundle: LabBundle, kitCode: string): Promise<{ solutionMs: number; runLimitMs: number }> {
  const run = () =>
    runBundleInProcess({
      bundle,
      kitCode,
      wasm: readFileSync(sqlWasmPath()),
      wasmDir: dirname(sqlWasmPath()),
      files: { ...bundle.starter, ...bundle.solution },
      testFiles: bundle.lab.steps.map((s) => s.test),
    });
  await run();
  const started = performance.now();
  const outcomes = await run();
  const solutionMs = performance.now() - started;
  const failing = outcomes.filter((o) => o.error !== undefined || o.tests.some((t) => !t.passed)).map((o) => o.file);
  if (failing.length) throw new Error(`${bundle.name}: the solution fails ${failing.join(', ')}, so the lab's run limit cannot be measured: run npm run test:graders`);
  return { solutionMs, runLimitMs: runLimitFor(solutionMs) };
}

/** The kit (labs/kit/index.ts, not the node:http adapter) as one CommonJS file for a browser Worker. */
export async function bundleKit(): Promise<string> {
  const result = await build({
    entryPoints: [join(KIT_DIR, 'index.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: 'cjs',
    // Resolves sql.js through its "browser" export condition: dist/sql-wasm-browser.js.
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The .wasm that sql.js's browser build loads (it asks for "sql-wasm-browser.wasm"). */
export function sqlWasmPath(): string {
  const require = createRequire(join(KIT_DIR, 'sql.ts'));
  return join(dirname(require.resolve('sql.js')), 'sql-wasm-browser.wasm');
}

/**
 * The kit's declaration files, by name ("index.d.ts", "cluster.d.ts", …), for the editor. Relative
 * imports keep their `.ts` extension (`./cluster.ts`), so the editor needs allowImportingTsExtensions.
 */
export function kitDeclarations(): Record<string, string> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    allowImportingTsExtensions: true,
    declaration: true,
    emitDeclarationOnly: true,
    skipLibCheck: true,
    noEmitOnError: true,
    rootDir: KIT_DIR,
    outDir: join(KIT_DIR, '.d.ts-out'),
  };
  const program = ts.createProgram([join(KIT_DIR, 'index.ts')], options);
  const files: Record<string, string> = {};
  const result = program.emit(undefined, (fileName, text) => {
    files[posix(relative(options.outDir!, fileName))] = text;
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (result.emitSkipped || diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error)) {
    const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
    throw new Error(`The kit's declarations could not be generated:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  if (files['node-http.d.ts']) throw new Error('kit-types: node-http.ts must not be reachable from labs/kit/index.ts');
  return Object.fromEntries(Object.keys(files).sort().map((f) => [f, files[f]!]));
}

/** Writes `data` unless the file already holds exactly that; returns the path written. */
function writeIfChanged(path: string, data: string | Buffer): string {
  const next = typeof data === 'string' ? Buffer.from(data) : data;
  if (!existsSync(path) || !readFileSync(path).equals(next)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, next);
  }
  return path;
}

/** Builds every asset into `outDir` and lists what it wrote. */
export async function buildLabAssets(outDir = DEFAULT_OUT_DIR): Promise<{ written: string[]; measures: string[] }> {
  mkdirSync(outDir, { recursive: true });
  const [kit, bundles] = await Promise.all([bundleKit(), Promise.all(allLabs().map((lab) => buildLabBundle(lab)))]);
  const written: string[] = [];
  const measures: string[] = [];
  for (const bundle of bundles) {
    // One at a time: the measures must not compete for the processor.
    const { solutionMs, runLimitMs } = await measureRunLimit(bundle, kit);
    bundle.runLimitMs = runLimitMs;
    measures.push(`${bundle.name} ${(solutionMs / 1000).toFixed(2)} s → limit ${runLimitMs / 1000} s`);
    written.push(writeIfChanged(join(outDir, `${bundle.name}.json`), JSON.stringify(bundle)));
  }
  written.push(writeIfChanged(join(outDir, 'kit.js'), kit));
  const wasm = join(outDir, WASM_FILE);
  if (!existsSync(wasm) || !readFileSync(wasm).equals(readFileSync(sqlWasmPath()))) copyFileSync(sqlWasmPath(), wasm);
  written.push(wasm);
  const types = kitDeclarations();
  for (const [name, text] of Object.entries(types)) written.push(writeIfChanged(join(outDir, 'kit-types', name), text));
  written.push(writeIfChanged(join(outDir, 'kit-types', 'index.json'), JSON.stringify({ files: types })));

  // Removes what an earlier build wrote and this one did not (a lab or a kit file since removed).
  // Only this script's own kinds of files: other build steps may write into the folder too.
  const keep = new Set(written.map((p) => resolve(p)));
  const owned = (file: string) => /^\d\d-[^/]*\.json$/.test(file) || file.startsWith('kit-types/');
  for (const file of listFiles(outDir)) {
    if (owned(file) && !keep.has(resolve(outDir, file))) rmSync(resolve(outDir, file));
  }
  return { written, measures };
}

if (import.meta.main) {
  const start = performance.now();
  const outDir = resolve(process.argv[2] ?? DEFAULT_OUT_DIR);
  try {
    const { written, measures } = await buildLabAssets(outDir);
    process.stdout.write(`lab assets: ${written.length} files in ${posix(relative(process.cwd(), outDir)) || '.'} (${Math.round(performance.now() - start)} ms); solution runs: ${measures.join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`lab assets: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

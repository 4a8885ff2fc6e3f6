/**
 * node scripts/build-webcontainer-assets.ts [outDir]
 *
 * Bundles the two Node programs the WebContainer runtime mounts, with every dependency inside
 * (nothing is installed in the WebContainer), into public/lab-assets/webcontainer/ (default):
 *   run-tests.mjs   runs a lab's graded tests against the reader's files (labs/harness/runner)
 *   serve.mjs       serves the lab's cluster on real ports with the kit's node:http adapter
 * Run after scripts/build-lab-assets.ts, which writes the rest of what is mounted (the lab bundles,
 * kit.js, sql-wasm.wasm). Output is deterministic, and unchanged files are not rewritten.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './lab-runner/catalog.ts';

export const DEFAULT_OUT_DIR = join(ROOT, 'public', 'lab-assets', 'webcontainer');
const ENTRIES_DIR = join(ROOT, 'labs', 'harness', 'node');

/** The programs, by output file name. */
export const WEBCONTAINER_ENTRIES = {
  'run-tests.mjs': join(ENTRIES_DIR, 'run-tests.ts'),
  'serve.mjs': join(ENTRIES_DIR, 'serve.ts'),
} as const;

export type WebContainerEntry = keyof typeof WEBCONTAINER_ENTRIES;

/**
 * An ES module bundle keeps CommonJS dependencies (sql.js) working: they get a real `require` for
 * Node's built-ins, and `__dirname`/`__filename` of the bundle itself.
 */
const CJS_SHIMS = [
  "import { createRequire as __scaleLabCreateRequire } from 'node:module';",
  "import { fileURLToPath as __scaleLabFileURLToPath } from 'node:url';",
  'const require = __scaleLabCreateRequire(import.meta.url);',
  'const __scaleLabFilename = __scaleLabFileURLToPath(import.meta.url);',
  "const __scaleLabDirname = __scaleLabFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** One program bundled for Node 22 (WebContainer's Node), as ESM text. */
export async function bundleWebContainerEntry(name: WebContainerEntry): Promise<string> {
  const result = await build({
    entryPoints: [WEBCONTAINER_ENTRIES[name]],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // ES module builds first (sucrase's can be tree-shaken); whitespace and syntax minified, names
    // kept, so stack traces stay readable. About 160 + 90 KB gzipped.
    mainFields: ['module', 'main'],
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: CJS_SHIMS },
    define: { __dirname: '__scaleLabDirname', __filename: '__scaleLabFilename' },
  });
  return result.outputFiles[0]!.text;
}

function writeIfChanged(path: string, text: string): string {
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return path;
}

/** Builds both programs into `outDir`, removes anything else a previous build left there, and lists what it wrote. */
export async function buildWebContainerAssets(outDir = DEFAULT_OUT_DIR): Promise<string[]> {
  const names = Object.keys(WEBCONTAINER_ENTRIES) as WebContainerEntry[];
  const texts = await Promise.all(names.map(bundleWebContainerEntry));
  const written = names.map((name, i) => writeIfChanged(join(outDir, name), texts[i]!));
  const keep = new Set(written.map((p) => resolve(p)));
  for (const entry of readdirSync(outDir)) {
    const full = resolve(outDir, entry);
    if (!keep.has(full)) rmSync(full, { recursive: true, force: true });
  }
  return written;
}

if (import.meta.main) {
  const start = performance.now();
  const outDir = resolve(process.argv[2] ?? DEFAULT_OUT_DIR);
  try {
    const written = await buildWebContainerAssets(outDir);
    const shown = relative(process.cwd(), outDir).split(sep).join('/') || '.';
    process.stdout.write(`webcontainer assets: ${written.length} files in ${shown} (${Math.round(performance.now() - start)} ms)\n`);
    const labAssets = dirname(outDir);
    const missing = ['kit.js', 'sql-wasm.wasm'].filter((f) => !existsSync(join(labAssets, f)));
    if (missing.length) process.stderr.write(`webcontainer assets: ${missing.join(' and ')} not found in ${relative(process.cwd(), labAssets) || '.'}: run scripts/build-lab-assets.ts too.\n`);
  } catch (err) {
    process.stderr.write(`webcontainer assets: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

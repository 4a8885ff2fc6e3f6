/**
 * The files mounted in the WebContainer for one lab: the two Node entries, the kit, SQLite's wasm,
 * the lab bundle, and the reader's files under lab/. Nothing is installed at run time: the entries
 * are bundled with every dependency they need.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { MOUNTED } from '../../../labs/harness/protocol.ts';
import type { FileSystemTree } from './types.ts';

/** The prebuilt files fetched from the site's lab-assets folder. */
export interface WebContainerAssets {
  /** webcontainer/run-tests.mjs */
  runTests: string;
  /** webcontainer/serve.mjs */
  serve: string;
  /** kit.js: the kit as CommonJS, mounted as kit.cjs. */
  kit: string;
  /** sql-wasm.wasm, as bytes. */
  sqlWasm: Uint8Array;
}

/** Where one of the reader's files lives, relative to the lab's folder. */
export function labFilePath(file: string): string {
  return `${MOUNTED.labDir}/${file}`;
}

function addFile(tree: FileSystemTree, path: string, contents: string | Uint8Array): void {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new Error(`Cannot mount "${path}": a lab file path must stay inside the lab folder.`);
  let dir = tree;
  for (const part of parts.slice(0, -1)) {
    const entry = (dir[part] ??= { directory: {} });
    if (!('directory' in entry)) throw new Error(`Cannot mount "${path}": ${part} is a file.`);
    dir = entry.directory;
  }
  dir[parts.at(-1)!] = { file: { contents } };
}

export function buildMountTree(assets: WebContainerAssets, bundle: LabBundle, files: Record<string, string>): FileSystemTree {
  const tree: FileSystemTree = {
    // "type": "module" so the .mjs entries and any file the reader's code might add load as ESM.
    'package.json': { file: { contents: `${JSON.stringify({ name: `scale-lab-${bundle.name}`, private: true, type: 'module' }, null, 2)}\n` } },
    [MOUNTED.runTests]: { file: { contents: assets.runTests } },
    [MOUNTED.serve]: { file: { contents: assets.serve } },
    [MOUNTED.kit]: { file: { contents: assets.kit } },
    [MOUNTED.sqlWasm]: { file: { contents: assets.sqlWasm } },
    [MOUNTED.bundle]: { file: { contents: JSON.stringify(bundle) } },
    [MOUNTED.labDir]: { directory: {} },
  };
  for (const [path, text] of Object.entries(files)) addFile(tree, labFilePath(path), text);
  return tree;
}

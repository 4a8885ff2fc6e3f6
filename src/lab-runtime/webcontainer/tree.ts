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

/** Where each prebuilt asset is, under the site's lab-assets folder. */
export const ASSET_PATHS = {
  runTests: 'webcontainer/run-tests.mjs',
  serve: 'webcontainer/serve.mjs',
  kit: 'kit.js',
  sqlWasm: 'sql-wasm.wasm',
} as const;

/** Fetches the prebuilt assets with `get(path)` (a path of ASSET_PATHS, which throws on failure). */
export async function loadMountAssets(get: (path: string) => Promise<Response>): Promise<WebContainerAssets> {
  const text = (path: string) => get(path).then((r) => r.text());
  const [runTests, serve, kit, sqlWasm] = await Promise.all([
    text(ASSET_PATHS.runTests),
    text(ASSET_PATHS.serve),
    text(ASSET_PATHS.kit),
    get(ASSET_PATHS.sqlWasm).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  return { runTests, serve, kit, sqlWasm };
}

function checkedParts(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new Error(`Cannot mount "${path}": a lab file path must stay inside the lab folder.`);
  return parts;
}

/**
 * Every mounted file by its path in the lab's folder: the programs, the kit, SQLite's wasm, the lab
 * bundle (lab.json) and the reader's files under lab/. The one description of the layout: the
 * WebContainer mounts it as a tree, a downloaded lab zips it.
 */
export function mountedFiles(assets: WebContainerAssets, bundle: LabBundle, files: Record<string, string>): Record<string, string | Uint8Array> {
  const mounted: Record<string, string | Uint8Array> = {
    // "type": "module" so the .mjs entries and any file the reader's code might add load as ESM.
    'package.json': `${JSON.stringify({ name: `scale-lab-${bundle.name}`, private: true, type: 'module' }, null, 2)}\n`,
    [MOUNTED.runTests]: assets.runTests,
    [MOUNTED.serve]: assets.serve,
    [MOUNTED.kit]: assets.kit,
    [MOUNTED.sqlWasm]: assets.sqlWasm,
    [MOUNTED.bundle]: JSON.stringify(bundle),
  };
  for (const [path, text] of Object.entries(files)) mounted[checkedParts(labFilePath(path)).join('/')] = text;
  return mounted;
}

export function buildMountTree(assets: WebContainerAssets, bundle: LabBundle, files: Record<string, string>): FileSystemTree {
  // lab/ exists even for a lab whose files are all elsewhere, as the runtime expects.
  const tree: FileSystemTree = { [MOUNTED.labDir]: { directory: {} } };
  for (const [path, contents] of Object.entries(mountedFiles(assets, bundle, files))) {
    const parts = path.split('/');
    let dir = tree;
    for (const part of parts.slice(0, -1)) {
      const entry = (dir[part] ??= { directory: {} });
      if (!('directory' in entry)) throw new Error(`Cannot mount "${path}": ${part} is a file.`);
      dir = entry.directory;
    }
    dir[parts.at(-1)!] = { file: { contents } };
  }
  return tree;
}

/**
 * A Vite plugin that gives Monaco's TypeScript worker only the lib files the editor asks for
 * (EDITOR_TS_LIBS and the libs they reference), in place of all of them (433 KB gzipped).
 * Monaco's worker reads its libs from one module, `lib/lib.js`, a map of file name to text; this
 * plugin answers that import with the same map, cut down.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';

const VIRTUAL = '\0scale-lab:monaco-ts-libs';
const LIB_DIR = '/monaco-editor/esm/vs/languages/features/typescript/';

/** Every lib file reachable from `libs` through `/// <reference lib="…" />`. */
export function libClosure(all: Record<string, string>, libs: readonly string[]): string[] {
  const needed = new Set<string>();
  const visit = (file: string) => {
    if (needed.has(file)) return;
    const text = all[file];
    if (text === undefined) throw new Error(`Monaco has no TypeScript lib file ${file}`);
    needed.add(file);
    for (const ref of text.matchAll(/<reference lib="([^"]+)"/g)) visit(`lib.${ref[1]!.toLowerCase()}.d.ts`);
  };
  for (const lib of libs) visit(`lib.${lib.toLowerCase()}.d.ts`);
  return [...needed].sort();
}

/** Monaco's map of every TypeScript lib file name to its text. */
export function monacoLibMap(): Record<string, string> {
  const source = readFileSync(createRequire(import.meta.url).resolve('monaco-editor/languages/features/typescript/lib/lib.js'), 'utf8');
  // The module is `const libFileMap = {}; libFileMap["…"] = '…'; … export { libFileMap };`.
  return new Function(`${source.replace(/export\s*\{\s*libFileMap\s*\};?\s*$/, '')}\nreturn libFileMap;`)() as Record<string, string>;
}

export default function monacoTsLibs(libs: readonly string[]): Plugin {
  let code: string | undefined;
  return {
    name: 'scale-lab:monaco-ts-libs',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === './lib/lib.js' && importer?.replaceAll('\\', '/').includes(LIB_DIR)) return VIRTUAL;
      return null;
    },
    load(id) {
      if (id !== VIRTUAL) return null;
      if (!code) {
        const all = monacoLibMap();
        const kept = Object.fromEntries(libClosure(all, libs).map((file) => [file, all[file]!]));
        code = `export const libFileMap = ${JSON.stringify(kept)};\n`;
      }
      return code;
    },
  };
}

/**
 * Loads the reader's TypeScript files as CommonJS modules, in plain Node (serve.mjs): each file is
 * transpiled with sucrase when first required, and bare imports resolve only to what is handed in
 * (the kit). Nothing is type-checked: the editor shows type errors.
 */
import { transform } from 'sucrase';

export type LabRequire = (specifier: string) => unknown;

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new Error(`"${path}" leaves the lab folder.`);
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * A `require` over the lab's files (path → TypeScript source), relative to the lab folder.
 * `externals` maps bare specifiers (e.g. "@scale-lab/kit") to the module objects they load.
 */
export function createLabRequire(files: Record<string, string>, externals: Record<string, unknown>): LabRequire {
  const cache = new Map<string, { exports: unknown }>();

  function resolveFile(specifier: string, fromDir: string): string {
    const base = normalize(fromDir ? `${fromDir}/${specifier}` : specifier);
    for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (candidate in files) return candidate;
    throw new Error(`Cannot find the lab file "${specifier}"${fromDir ? ` (from ${fromDir}/)` : ''}.`);
  }

  function load(path: string): unknown {
    const cached = cache.get(path);
    if (cached) return cached.exports;
    const module = { exports: {} as unknown };
    // Cached before it runs, like Node's CommonJS: a cycle sees the exports made so far.
    cache.set(path, module);
    let code: string;
    try {
      code = transform(files[path]!, { transforms: ['typescript', 'imports'], filePath: path, production: true }).code;
    } catch (err) {
      cache.delete(path);
      throw new Error(`${path} could not be read as TypeScript: ${err instanceof Error ? err.message : String(err)}`);
    }
    const requireFrom = (specifier: string) => requireAt(specifier, dirOf(path), path);
    try {
      new Function('exports', 'require', 'module', `${code}\n//# sourceURL=lab/${path}`)(module.exports, requireFrom, module);
    } catch (err) {
      cache.delete(path);
      throw err;
    }
    return module.exports;
  }

  function requireAt(specifier: string, fromDir: string, importer?: string): unknown {
    if (specifier.startsWith('.') || specifier.startsWith('/')) return load(resolveFile(specifier.replace(/^\/+/, ''), specifier.startsWith('/') ? '' : fromDir));
    if (Object.hasOwn(externals, specifier)) return externals[specifier];
    throw new Error(
      `${importer ?? 'The lab'} imports "${specifier}": lab code may import only ${Object.keys(externals).join(', ')} and the lab's own files.`,
    );
  }

  return (specifier) => requireAt(specifier.startsWith('.') ? specifier : `./${specifier}`, '');
}

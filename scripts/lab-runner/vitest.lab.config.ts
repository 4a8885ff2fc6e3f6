/**
 * Vitest config for one graded run in Node. The lab's tests import `../starter/…`; this config
 * points those imports at the files under test (SCALE_LAB_FILES) and refuses reader files that use
 * the wall clock. Set by run-node.ts through the environment.
 */
import { join, relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';
import { assertNoWallClock } from '@scale-lab/kit';

const labDir = resolve(process.env.SCALE_LAB_DIR ?? '');
const filesDir = resolve(process.env.SCALE_LAB_FILES ?? '');
const tests: string[] = JSON.parse(process.env.SCALE_LAB_TESTS ?? '[]');
const editable: string[] = JSON.parse(process.env.SCALE_LAB_EDITABLE ?? '[]');
const starterDir = join(labDir, 'starter') + sep;

function filesUnderTest(): Plugin {
  return {
    name: 'scale-lab-files-under-test',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!importer || !source.startsWith('.')) return null;
      const target = resolve(importer, '..', source);
      if (!target.startsWith(starterDir)) return null;
      return this.resolve(join(filesDir, relative(starterDir, target)), importer, { ...options, skipSelf: true });
    },
    transform(code, id) {
      const file = relative(filesDir, id.split('?')[0]!);
      if (!file.startsWith('..') && editable.includes(file)) assertNoWallClock(file, code);
      return null;
    },
  };
}

export default defineConfig({
  root: labDir,
  // Vite's cache goes with the runs, not into the lab folder.
  cacheDir: join(import.meta.dirname, '../../.lab-work/.vite'),
  plugins: [filesUnderTest()],
  server: { fs: { strict: false } },
  test: {
    include: tests,
    reporters: [resolve(import.meta.dirname, 'reporter.ts')],
    // Off: the cache keys a test file by its own text, and would keep the files of a previous run.
    fsModuleCache: false,
    testTimeout: 20_000,
    pool: 'forks',
    globals: false,
    watch: false,
  },
});

import { expect, test } from 'vitest';
import { EDITOR_TS_LIBS } from '../../src/components/lab/editor-libs.ts';
import { libClosure, monacoLibMap } from '../../src/integrations/monaco-ts-libs.ts';

const all = monacoLibMap();

test("the editor's TypeScript libs and everything they reference, without the DOM", () => {
  const kept = libClosure(all, EDITOR_TS_LIBS);
  expect(kept).toEqual(expect.arrayContaining(['lib.es5.d.ts', 'lib.es2015.promise.d.ts', 'lib.es2023.d.ts', 'lib.webworker.d.ts', 'lib.webworker.iterable.d.ts']));
  expect(kept).not.toContain('lib.dom.d.ts');
  for (const file of kept) for (const ref of all[file]!.matchAll(/<reference lib="([^"]+)"/g)) expect(kept).toContain(`lib.${ref[1]!.toLowerCase()}.d.ts`);
});

test('a lib Monaco does not have stops the build with its name', () => {
  expect(() => libClosure(all, ['es2099'])).toThrow('Monaco has no TypeScript lib file lib.es2099.d.ts');
});

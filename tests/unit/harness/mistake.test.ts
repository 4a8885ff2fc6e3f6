import { expect, test } from 'vitest';
import { applyEdits, parseMistake } from '../../../labs/harness/mistake.ts';
import { allLabs, mistakeFiles, solutionFiles } from '../../../scripts/lab-runner/catalog.ts';

const files = { 'balancer.ts': 'let a = 1;\nlet b = 1;\nreturn a;\n', 'cluster.ts': 'provided' };
const editable = ['balancer.ts'];

test('edits apply in order, each to the text the previous ones left', () => {
  const out = applyEdits(files, [{ file: 'balancer.ts', find: 'let a = 1;', replace: 'let a = 2;' }, { file: 'balancer.ts', find: 'a = 2', replace: 'a = 3' }], editable, 'm.json');
  expect(out['balancer.ts']).toBe('let a = 3;\nlet b = 1;\nreturn a;\n');
  expect(out['cluster.ts']).toBe('provided');
});

test('a find that occurs nowhere or twice, or a file that is not editable, fails loudly with every problem', () => {
  expect(() =>
    applyEdits(
      files,
      [
        { file: 'balancer.ts', find: 'let c', replace: '' },
        { file: 'balancer.ts', find: ' = 1;', replace: '' },
        { file: 'cluster.ts', find: 'provided', replace: '' },
      ],
      editable,
      'mistakes/x.json',
    ),
  ).toThrow(
    [
      'mistakes/x.json does not apply to the solution:',
      '  - edit 1 (balancer.ts): its find text occurs nowhere in balancer.ts, it must occur exactly once: "let c"',
      '  - edit 2 (balancer.ts): its find text occurs 2 times in balancer.ts, it must occur exactly once: "= 1;"',
      '  - edit 3 (cluster.ts): cluster.ts is not an editable file of the lab (balancer.ts)',
    ].join('\n'),
  );
});

test('a fixture without edits, or with an empty find, is not a fixture', () => {
  expect(() => parseMistake({ mistake: 'm', step: 'round-robin', message: 'x', edits: [] }, 'm', 'm.json')).toThrow(/edits: give at least one edit/);
  expect(() => parseMistake({ mistake: 'm', step: 'round-robin', message: 'x', edits: [{ file: 'a.ts', find: '', replace: '' }] }, 'm', 'm.json')).toThrow(/edits\.0\.find/);
});

test("every lab's fixtures apply to its solution and change it", () => {
  for (const lab of allLabs()) {
    expect(lab.mistakes.length, lab.name).toBeGreaterThan(0);
    const solution = solutionFiles(lab);
    for (const mistake of lab.mistakes) expect(mistakeFiles(lab, mistake), `${lab.name}/${mistake.id}`).not.toEqual(solution);
  }
});

import { describe, expect, test } from 'vitest';
import { LabEditsStore, labEditsKey, type SavedLab } from '../../src/storage/lab-edits.ts';
import { ProgressStore, progressKey, type CourseInfo, type Progress } from '../../src/storage/progress.ts';
import { buildExport, exportFileName, importExport, mergeLab, mergeProgress, parseExport, teamCsv, teamRow, toCsv, type ExportFile } from '../../src/storage/transfer.ts';
import { MemoryStorage } from '../support/memory-storage.ts';


const BASE = '/course/';
const starter = { version: 'v1', files: { 'balancer.ts': 'starter', 'app.ts': 'starter app' } };
const course: CourseInfo = {
  pass: 0.8,
  chapters: [
    { id: '00-one-server', title: 'From one server', steps: [], questions: 9 },
    { id: '01-clones', title: 'Clones', steps: ['round-robin', 'health-checks'], questions: 10 },
  ],
};

/** A browser with some progress and lab edits. */
function browser(): MemoryStorage {
  const storage = new MemoryStorage();
  const progress = new ProgressStore(storage, BASE);
  progress.setReader('Ada');
  progress.markRead('00-one-server', 1000);
  progress.recordQuiz('00-one-server', 8, 9, 2000);
  progress.passStep('01-clones', 'round-robin', 3000);
  new LabEditsStore(storage, BASE, '01-clones').save('balancer.ts', 'mine v1', starter, 4000);
  return storage;
}

describe('export', () => {
  test('holds progress and every lab with saved edits, and round-trips through parseExport', () => {
    const file = buildExport(browser(), BASE, Date.UTC(2025, 0, 2, 3, 4));
    expect(file).toMatchObject({ format: 'scale-lab-export', version: 1, exportedAt: '2025-01-02T03:04:00.000Z', reader: 'Ada' });
    expect(Object.keys(file.labEdits)).toEqual(['01-clones']);
    expect(file.labEdits['01-clones']!.files['balancer.ts']).toEqual({ text: 'mine v1', savedAt: 4000 });
    expect(file.progress.chapters['00-one-server']).toEqual({ read: 1000, quiz: { score: 8, total: 9, at: 2000 } });
    expect(parseExport(JSON.stringify(file))).toEqual(file);
    expect(exportFileName(file)).toBe('scale-lab-progress-ada-2025-01-02.json');
  });

  test('export, clear, import: progress and edits are back', () => {
    const storage = browser();
    const file = buildExport(storage, BASE);
    const before = [progressKey(BASE), labEditsKey(BASE, '01-clones')].map((k) => JSON.parse(storage.getItem(k)!));
    storage.clear();
    const report = importExport(storage, BASE, parseExport(JSON.stringify(file)), { '00-one-server': 'From one server' });
    expect([progressKey(BASE), labEditsKey(BASE, '01-clones')].map((k) => JSON.parse(storage.getItem(k)!))).toEqual(before);
    expect(report.merged).toEqual([
      'From one server: marked as read',
      'From one server: quiz best 8 of 9',
      '01-clones: lab step passed: round-robin',
      '01-clones lab: your edits to balancer.ts',
    ]);
    expect(report.kept).toEqual([]);
  });
});

describe('parseExport', () => {
  const good = () => buildExport(browser(), BASE, 0);
  const refuse = (value: unknown) => () => parseExport(typeof value === 'string' ? value : JSON.stringify(value));

  test('says what is wrong with a file', () => {
    expect(refuse('not json')).toThrow('it is not a JSON file');
    expect(refuse({ hello: 1 })).toThrow('it is not a Scale Lab progress export');
    expect(refuse({ ...good(), version: 2 })).toThrow('made by a newer version of the course');
    expect(refuse({ ...good(), exportedAt: 'soon' })).toThrow('"exportedAt" is not a date');
    expect(refuse({ ...good(), progress: { format: 1, chapters: { '01-clones': { read: 'x' } } } })).toThrow('its "progress" is not in a format');
    expect(refuse({ ...good(), labEdits: { '01-clones': { format: 1, lab: '03-caching', starterVersion: 'v', starter: {}, files: {} } } })).toThrow('the edits of the lab "01-clones" say they belong to another lab ("03-caching")');
    for (const savedAt of ['later', 1e300, -5]) {
      const badFile = good();
      (badFile.labEdits['01-clones']!.files['balancer.ts'] as { savedAt: unknown }).savedAt = savedAt;
      expect(refuse(badFile)).toThrow('the edits of the lab "01-clones" have a file, balancer.ts, whose save time is not a date');
    }
    const { version: _, ...noVersion } = good();
    expect(refuse(noVersion)).toThrow('it does not say which export version it is ("version" is missing)');
  });

  test('edits for a lab the course does not have are refused, not stored under a key', () => {
    const file = good();
    const other = { ...file.labEdits['01-clones']!, lab: '99-nowhere' };
    const text = JSON.stringify({ ...file, labEdits: { '99-nowhere': other } });
    expect(() => parseExport(text, ['01-clones', '03-caching'])).toThrow('it has edits for a lab this course does not have ("99-nowhere")');
    expect(() => parseExport(JSON.stringify({ ...file, labEdits: { 'x:y': { ...other, lab: 'x:y' } } }))).toThrow('a lab this course does not have ("x:y")');
  });
});

describe('merging never overwrites newer work', () => {
  test('progress: read = earliest, steps = union, quiz best = the better', () => {
    const local: Progress = { format: 1, chapters: { '01-clones': { read: 500, steps: { 'round-robin': 50 }, quiz: { score: 9, total: 10, at: 10 } }, '00-one-server': { quiz: { score: 3, total: 9, at: 1 } } } };
    const incoming: Progress = {
      format: 1,
      reader: 'Ada',
      chapters: { '01-clones': { read: 100, steps: { 'round-robin': 80, 'health-checks': 90 }, quiz: { score: 6, total: 10, at: 20 } }, '00-one-server': { read: 7, quiz: { score: 8, total: 9, at: 30 } } },
    };
    const { progress, merged, kept } = mergeProgress(local, incoming, { '01-clones': 'Clones' });
    expect(progress).toEqual({
      format: 1,
      reader: 'Ada',
      chapters: { '01-clones': { read: 100, steps: { 'round-robin': 50, 'health-checks': 90 }, quiz: { score: 9, total: 10, at: 10 } }, '00-one-server': { read: 7, quiz: { score: 8, total: 9, at: 30 } } },
    });
    expect(merged).toEqual(['Clones: lab step passed: health-checks', '00-one-server: marked as read', '00-one-server: quiz best 8 of 9 (was 3 of 9)']);
    expect(kept).toEqual(['Clones: your quiz best 9 of 10 (the file has 6 of 10)']);
    // The input is not changed.
    expect(local.chapters['01-clones']!.read).toBe(500);
  });

  test('lab edits: per file, the newer savedAt wins; new files are added', () => {
    const mine: SavedLab = { format: 1, lab: '01-clones', starterVersion: 'v2', starter: {}, files: { 'balancer.ts': { text: 'new', savedAt: Date.UTC(2025, 5, 1) }, 'app.ts': { text: 'old app', savedAt: 10 } } };
    const theirs: SavedLab = { format: 1, lab: '01-clones', starterVersion: 'v1', starter: {}, files: { 'balancer.ts': { text: 'old', savedAt: Date.UTC(2025, 0, 1) }, 'app.ts': { text: 'new app', savedAt: 20 }, 'kv.ts': { text: 'kv', savedAt: 5 } } };
    const { lab, merged, kept } = mergeLab(mine, theirs);
    expect(lab.files).toEqual({ 'balancer.ts': mine.files['balancer.ts'], 'app.ts': theirs.files['app.ts'], 'kv.ts': theirs.files['kv.ts'] });
    expect(lab.starterVersion).toBe('v2');
    expect(merged).toEqual(['01-clones lab: app.ts (saved 1970-01-01 00:00)', '01-clones lab: kv.ts (saved 1970-01-01 00:00)']);
    expect(kept).toEqual(["01-clones lab: your balancer.ts (saved 2025-06-01 00:00) is newer than the file's (saved 2025-01-01 00:00)"]);
  });

  test('importing an older export over newer work keeps the newer work', () => {
    const old = browser();
    const oldExport = buildExport(old, BASE);
    // Later, in the same browser: more work.
    const storage = browser();
    new LabEditsStore(storage, BASE, '01-clones').save('balancer.ts', 'mine v2', starter, 9000);
    new ProgressStore(storage, BASE).recordQuiz('00-one-server', 9, 9, 9500);
    const report = importExport(storage, BASE, oldExport);
    expect(new LabEditsStore(storage, BASE, '01-clones').load().saved!.files['balancer.ts']).toEqual({ text: 'mine v2', savedAt: 9000 });
    expect(new ProgressStore(storage, BASE).load().chapters['00-one-server']!.quiz).toEqual({ score: 9, total: 9, at: 9500 });
    expect(report.merged).toEqual([]);
    expect(report.kept).toHaveLength(2);
  });

  test('a storage that refuses the import says so', () => {
    const storage = new MemoryStorage();
    const file = buildExport(browser(), BASE);
    storage.setItem = () => {
      throw new Error('quota exceeded');
    };
    expect(() => importExport(storage, BASE, file)).toThrow('this browser refused to store it (quota exceeded)');
  });
});

describe('team view', () => {
  const exportOf = (reader: string, chapters: Progress['chapters']): ExportFile => ({ format: 'scale-lab-export', version: 1, exportedAt: '2025-01-01T00:00:00.000Z', reader, progress: { format: 1, chapters }, labEdits: {} });

  test('one row per reader with per-chapter summaries, as CSV', () => {
    const rows = [
      teamRow(exportOf('Ada', { '00-one-server': { read: 1, quiz: { score: 9, total: 9, at: 1 } }, '01-clones': { steps: { 'round-robin': 1 } } }), 'ada.json', course),
      teamRow(exportOf(' ', {}), '=cmd.json', course),
    ];
    expect(rows[0]).toMatchObject({ reader: 'Ada', done: 1 });
    expect(rows[1]).toMatchObject({ reader: '=cmd.json', done: 0 });
    expect(teamCsv(rows, course).split('\r\n')).toEqual([
      'Reader,File,Exported at,Chapters done,From one server: read,From one server: lab steps passed,From one server: quiz %,From one server: state,Clones: read,Clones: lab steps passed,Clones: quiz %,Clones: state',
      'Ada,ada.json,2025-01-01T00:00:00.000Z,1,yes,,100,done,no,1 of 2,,in-progress',
      "'=cmd.json,'=cmd.json,2025-01-01T00:00:00.000Z,0,no,,,not-started,no,0 of 2,,not-started",
      '',
    ]);
  });

  test('CSV quotes commas, quotes and line breaks', () => {
    expect(toCsv([['a,b', 'say "hi"', 'two\nlines', 3]])).toBe('"a,b","say ""hi""","two\nlines",3\r\n');
  });
});

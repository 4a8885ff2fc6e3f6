import { describe, expect, test } from 'vitest';
import { addedLabMessage, addedStepMessage } from '../../src/storage/progress-messages.ts';
import { addedAfterFinishing, addedLab, addedStep, isLabNews, migrate, PROGRESS_FORMAT, ProgressStore, progressKey, summarize, type ChapterInfo } from '../../src/storage/progress.ts';
import { labSchema, labStepSchema } from '../../labs/harness/lab-schema.ts';
import { MemoryStorage } from '../support/memory-storage.ts';


const withLab: ChapterInfo = { id: '01-clones', title: 'Clones', steps: ['round-robin', 'health-checks'], questions: 10 };
const noLab: ChapterInfo = { id: '02-databases', title: 'Databases', steps: [], questions: 8 };

describe('ProgressStore', () => {
  test('records read (first time), steps (first pass) and the best quiz score, under a key with the base path', () => {
    const storage = new MemoryStorage();
    const store = new ProgressStore(storage, '/course/');
    expect(store.load()).toEqual({ format: PROGRESS_FORMAT, chapters: {} });
    expect(store.markRead('01-clones', 100)).toBe(true);
    expect(store.markRead('01-clones', 200)).toBe(false);
    expect(store.passStep('01-clones', 'round-robin', 300)).toBe(true);
    expect(store.passStep('01-clones', 'round-robin', 400)).toBe(false);
    expect(store.recordQuiz('01-clones', 6, 10, 500)).toEqual({ score: 6, total: 10, at: 500 });
    expect(store.recordQuiz('01-clones', 4, 10, 600)).toEqual({ score: 6, total: 10, at: 500 });
    expect(store.recordQuiz('01-clones', 9, 10, 700)).toEqual({ score: 9, total: 10, at: 700 });
    expect(JSON.parse(storage.getItem(progressKey('/course/'))!)).toEqual({
      format: 1,
      chapters: { '01-clones': { read: 100, steps: { 'round-robin': 300 }, quiz: { score: 9, total: 10, at: 700 } } },
    });
    expect(progressKey('/')).not.toBe(progressKey('/course/'));
    expect(new ProgressStore(storage, '/').load().chapters).toEqual({});
  });

  test('the reader name is kept, trimmed; an empty name removes it', () => {
    const store = new ProgressStore(new MemoryStorage(), '/');
    store.setReader('  Ada ');
    expect(store.load().reader).toBe('Ada');
    store.setReader(' ');
    expect(store.load().reader).toBeUndefined();
  });

  for (const [what, raw] of [
    ['not JSON', '{oops'],
    ['a foreign value', '"hello"'],
    ['an array', '[1,2]'],
    ['no format', '{"chapters":{}}'],
    ['a newer format', '{"format":2,"chapters":{}}'],
    ['a wrong shape', '{"format":1,"chapters":{"01-clones":{"read":"yesterday"}}}'],
    ['an impossible quiz score', '{"format":1,"chapters":{"01-clones":{"quiz":{"score":9,"total":8,"at":1}}}}'],
  ] as const) {
    test(`${what} is set aside under another key, not deleted, and the reader starts clean`, () => {
      const storage = new MemoryStorage();
      storage.setItem(progressKey('/'), raw);
      const store = new ProgressStore(storage, '/');
      expect(store.load()).toEqual({ format: 1, chapters: {} });
      expect(store.setAside).toMatch(/^scale-lab:\/:progress:set-aside:\d+$/);
      expect(storage.getItem(store.setAside!)).toBe(raw);
      expect(storage.getItem(progressKey('/'))).toBeNull();
      // Progress goes on from a clean start.
      store.markRead('01-clones', 5);
      expect(store.load().chapters['01-clones']).toEqual({ read: 5 });
      expect(storage.getItem(store.setAside!)).toBe(raw);
    });
  }

  test('a storage that refuses writes does not break the page', () => {
    const storage = new MemoryStorage();
    storage.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    const store = new ProgressStore(storage, '/');
    expect(store.markRead('01-clones')).toBe(false);
    expect(store.recordQuiz('01-clones', 3, 4, 1)).toEqual({ score: 3, total: 4, at: 1 });
  });
});

describe('migrate', () => {
  test('returns current-format progress as is', () => {
    const value = { format: 1, reader: 'Ada', chapters: { '01-clones': { read: 1, steps: { a: 2 }, quiz: { score: 1, total: 2, at: 3 } } } };
    expect(migrate(value)).toEqual(value);
  });

  test('upgrades an older format one step at a time', () => {
    // A hypothetical format 0 that kept only a list of read chapters.
    const migrations = { 0: (v: Record<string, unknown>) => ({ format: 1, chapters: Object.fromEntries((v.read as string[]).map((id) => [id, { read: 0 }])) }) };
    expect(migrate({ format: 0, read: ['00-one-server'] }, migrations)).toEqual({ format: 1, chapters: { '00-one-server': { read: 0 } } });
    expect(migrate({ format: 0, read: ['00-one-server'] })).toBeUndefined();
  });

  test('refuses what is not progress', () => {
    for (const value of [null, 1, 'x', [], {}, { format: '1', chapters: {} }, { format: 1 }, { format: 1, chapters: { 'not a chapter': {} } }, { format: 1, reader: 3, chapters: {} }]) {
      expect(migrate(value)).toBeUndefined();
    }
  });
});

describe('summarize', () => {
  test('not started, in progress, done', () => {
    expect(summarize(withLab, undefined, 0.8).state).toBe('not-started');
    expect(summarize(withLab, { read: 1 }, 0.8).state).toBe('in-progress');
    expect(summarize(withLab, { steps: { 'round-robin': 1 } }, 0.8)).toMatchObject({ state: 'in-progress', stepsPassed: 1, stepsTotal: 2 });
    expect(summarize(withLab, { quiz: { score: 1, total: 10, at: 1 } }, 0.8).state).toBe('in-progress');
    const all = { read: 1, steps: { 'round-robin': 1, 'health-checks': 2 }, quiz: { score: 8, total: 10, at: 3 } };
    expect(summarize(withLab, all, 0.8).state).toBe('done');
  });

  test('done needs every lab step, a passing quiz (80 %) and reading', () => {
    const steps = { 'round-robin': 1, 'health-checks': 2 };
    expect(summarize(withLab, { read: 1, steps: { 'round-robin': 1, gone: 2 }, quiz: { score: 10, total: 10, at: 3 } }, 0.8)).toMatchObject({ state: 'in-progress', stepsPassed: 1 });
    expect(summarize(withLab, { read: 1, steps, quiz: { score: 7, total: 10, at: 3 } }, 0.8)).toMatchObject({ state: 'in-progress', quizPassed: false });
    expect(summarize(withLab, { steps, quiz: { score: 10, total: 10, at: 3 } }, 0.8).state).toBe('in-progress');
  });

  test('a chapter without a lab is done when read and its quiz passed', () => {
    expect(summarize(noLab, { read: 1, quiz: { score: 7, total: 8, at: 1 } }, 0.8)).toMatchObject({ state: 'done', stepsTotal: 0 });
  });
});

describe('a finished lab that gained a step', () => {
  const at = (day: string, time = '12:00') => Date.parse(`${day}T${time}:00Z`);
  const step = (id: string, added?: string) => ({ id, title: id[0]!.toUpperCase() + id.slice(1), ...(added ? { added } : {}) });
  const steps = [step('split'), step('failover'), step('shards'), step('resharding', '2026-11-26')];
  const lab: ChapterInfo = { id: '02-databases', title: 'Databases', steps: steps.map((s) => s.id), questions: 0, added: [addedStep(steps, 3)] };
  const finished = (day: string) => ({ read: at('2026-11-01'), steps: { split: at(day), failover: at(day), shards: at(day) } });

  test('an added step knows the steps before it and the end of its day', () => {
    expect(lab.added).toEqual([{ id: 'resharding', number: 4, title: 'Resharding', on: '2026-11-26', before: ['split', 'failover', 'shards'], end: Date.parse('2026-11-27T00:00:00Z') }]);
  });

  test('names the step to a reader who had passed every earlier step by the end of its day', () => {
    expect(addedAfterFinishing(lab, finished('2026-11-20'))).toEqual(lab.added);
    expect(addedAfterFinishing(lab, { steps: { split: at('2026-11-26', '23:59'), failover: at('2026-11-20'), shards: at('2026-11-20') } })).toEqual(lab.added);
    expect(summarize(lab, finished('2026-11-20'), 0.8).state).toBe('in-progress');
    expect(addedStepMessage(lab.added![0]!)).toBe('Step 4 “Resharding” was added on 2026-11-26, after you had finished this lab: the chapter shows as in progress until you pass it.');
  });

  test('says nothing to a reader who had not finished, finished after it came, or passed it', () => {
    expect(addedAfterFinishing(lab, undefined)).toEqual([]);
    expect(addedAfterFinishing(lab, { steps: { split: at('2026-11-20'), failover: at('2026-11-20') } })).toEqual([]);
    expect(addedAfterFinishing(lab, finished('2026-11-27'))).toEqual([]);
    expect(addedAfterFinishing(lab, { ...finished('2026-11-20'), steps: { ...finished('2026-11-20').steps, resharding: at('2026-11-28') } })).toEqual([]);
    expect(addedAfterFinishing({ ...lab, added: undefined }, finished('2026-11-20'))).toEqual([]);
  });

  test('with two added steps, each is judged against the steps the lab had before it', () => {
    const all = [...steps, step('pool', '2026-12-10')];
    const two: ChapterInfo = { ...lab, steps: all.map((s) => s.id), added: [addedStep(all, 3), addedStep(all, 4)] };
    expect(two.added![1]!.before).toEqual(['split', 'failover', 'shards', 'resharding']);
    // Finished the first three before resharding came, then never came back: resharding is why; the
    // pool step came when the lab was already unfinished for this reader.
    expect(addedAfterFinishing(two, finished('2026-11-20')).map((s) => s.id)).toEqual(['resharding']);
    // Passed resharding on Dec 1, before the pool step came: only the pool step is news.
    expect(addedAfterFinishing(two, { steps: { ...finished('2026-11-20').steps, resharding: at('2026-12-01') } }).map((s) => s.id)).toEqual(['pool']);
  });

  test('lab.json takes an added date per step, as YYYY-MM-DD only', () => {
    const step = { id: 'a', title: 'A', task: 't', test: 'tests/a.test.ts', hints: ['h'] };
    expect(labStepSchema.parse({ ...step, added: '2026-11-26' }).added).toBe('2026-11-26');
    expect(labStepSchema.safeParse({ ...step, added: '26/11/2026' }).success).toBe(false);
    expect(labStepSchema.safeParse({ ...step, added: '2026-02-30' }).success).toBe(false);
  });
});

describe('a finished chapter that gained a lab', () => {
  const at = (day: string, time = '12:00') => Date.parse(`${day}T${time}:00Z`);
  const steps = [{ id: 'enqueue' }, { id: 'retry' }, { id: 'dead-letters', added: '2026-12-10' }];
  const chapter: ChapterInfo = { id: '04-asynchronism', title: 'Asynchronism', steps: steps.map((s) => s.id), questions: 5, labAdded: addedLab('2026-11-26', steps) };
  const finished = (day: string, time?: string) => ({ read: at('2026-11-01'), quiz: { score: 4, total: 5, at: at(day, time) } });

  test('the lab knows its day, the end of it and the steps it shipped with', () => {
    expect(chapter.labAdded).toEqual({ on: '2026-11-26', end: Date.parse('2026-11-27T00:00:00Z'), steps: ['enqueue', 'retry'] });
  });

  test('tells a reader who had read the chapter and passed its quiz by the end of its day', () => {
    expect(isLabNews(chapter, finished('2026-11-20'), 0.8)).toBe(true);
    expect(isLabNews(chapter, finished('2026-11-26', '23:59'), 0.8)).toBe(true);
    expect(isLabNews(chapter, { ...finished('2026-11-20'), steps: { enqueue: at('2026-11-28') } }, 0.8)).toBe(true);
    expect(summarize(chapter, finished('2026-11-20'), 0.8).state).toBe('in-progress');
    expect(addedLabMessage(chapter)).toBe('New since you finished this chapter: a lab with 3 steps, added on 2026-11-26. The chapter shows as in progress until you pass them.');
    expect(addedLabMessage({ ...chapter, steps: ['enqueue'] })).toBe('New since you finished this chapter: a lab with 1 step, added on 2026-11-26. The chapter shows as in progress until you pass it.');
    // A chapter without a quiz is finished by reading alone.
    expect(isLabNews({ ...chapter, questions: 0 }, { read: at('2026-11-20') }, 0.8)).toBe(true);
  });

  test('says nothing to a reader who had not finished the chapter before the lab came', () => {
    expect(isLabNews(chapter, undefined, 0.8)).toBe(false);
    expect(isLabNews(chapter, { read: at('2026-11-20') }, 0.8)).toBe(false);
    expect(isLabNews(chapter, { quiz: finished('2026-11-20').quiz }, 0.8)).toBe(false);
    expect(isLabNews(chapter, { ...finished('2026-11-20'), quiz: { score: 3, total: 5, at: at('2026-11-20') } }, 0.8)).toBe(false);
    expect(isLabNews(chapter, finished('2026-11-27'), 0.8)).toBe(false);
    expect(isLabNews(chapter, { ...finished('2026-11-20'), read: at('2026-11-27') }, 0.8)).toBe(false);
    expect(isLabNews({ ...chapter, labAdded: undefined }, finished('2026-11-20'), 0.8)).toBe(false);
  });

  test('once the steps it shipped with have passed, a later step speaks for itself', () => {
    expect(isLabNews(chapter, { ...finished('2026-11-20'), steps: { enqueue: at('2026-11-28'), retry: at('2026-11-28') } }, 0.8)).toBe(false);
  });

  test('lab.json takes an added date for the lab, YYYY-MM-DD, no later than its steps\' own', () => {
    const step = { id: 'a', title: 'A', task: 't', test: 'tests/a.test.ts', hints: ['h'] };
    const lab = { title: 'L', chapter: '04-asynchronism', summary: 's', editable: ['app.ts'], steps: [step], cluster: { file: 'cluster.ts', export: 'c', entry: 'lb' } };
    expect(labSchema.parse({ ...lab, added: '2026-11-26' }).added).toBe('2026-11-26');
    expect(labSchema.safeParse({ ...lab, added: '2026-11-31' }).success).toBe(false);
    expect(labSchema.safeParse({ ...lab, added: '2026-11-26', steps: [{ ...step, added: '2026-11-26' }] }).success).toBe(true);
    expect(labSchema.safeParse({ ...lab, added: '2026-11-26', steps: [{ ...step, added: '2026-11-25' }] }).success).toBe(false);
  });
});

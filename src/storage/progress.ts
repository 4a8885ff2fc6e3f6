/**
 * A reader's progress through the course, kept in the browser (localStorage), one entry per site:
 * per chapter, when it was read, which lab steps passed, and the best quiz score.
 *
 * The stored value carries a `format` number. A value written by an older version of the site is
 * brought up to date by `migrate()`, one step per format; a value that is not ours (not JSON, an
 * unknown or newer format, a wrong shape) is set aside under another key, never deleted, and the
 * reader starts clean. This module is DOM-free: it is given a Storage-like object, so it runs in
 * unit tests and in the page alike, and it stays small because it runs on every page.
 */

export const PROGRESS_FORMAT = 1;

/** The best quiz result of a chapter: `score` right answers of `total` questions, reached at `at`. */
export interface QuizBest {
  score: number;
  total: number;
  /** When this best was reached (ms since the epoch). */
  at: number;
}

export interface ChapterProgress {
  /** When the reader first reached the end of the lesson or marked it as read (ms since the epoch). */
  read?: number;
  /** Lab steps passed at least once: step id → when it first passed (ms since the epoch). */
  steps?: Record<string, number>;
  quiz?: QuizBest;
}

export interface Progress {
  format: typeof PROGRESS_FORMAT;
  /** The reader's name, as they typed it on the Progress page, for team views. */
  reader?: string;
  /** By chapter id, e.g. "01-clones". */
  chapters: Record<string, ChapterProgress>;
}

/** What the site knows about a chapter, to judge progress: from the docs, labs and quizzes collections. */
export interface ChapterInfo {
  id: string;
  title: string;
  /** The lab's step ids, in order; empty for a chapter without a lab. */
  steps: string[];
  /** The number of quiz questions; 0 for a chapter without a quiz. */
  questions: number;
  /** The lab's steps added after it first shipped (a step's `added` in lab.json), if any. */
  added?: AddedStep[];
  /** When the lab came to a chapter that had none (lab.json's own `added`), if it did. */
  labAdded?: AddedLab;
}

/** A lab added to a chapter readers may already have finished by reading it and passing its quiz. */
export interface AddedLab {
  /** The day it was published, "YYYY-MM-DD" (UTC). */
  on: string;
  /** The end of its day (ms since the epoch): a reader who had read the chapter and passed its quiz by then had finished it. */
  end: number;
  /** The steps it shipped with; steps added since carry a notice of their own. */
  steps: string[];
}

/** A lab step added after the lab first shipped. */
export interface AddedStep {
  id: string;
  /** Its place in the lab, from 1. */
  number: number;
  title: string;
  /** The day it was published, "YYYY-MM-DD" (UTC). */
  on: string;
  /** The steps the lab had before it. */
  before: string[];
  /** The end of its day (ms since the epoch): a reader who had passed every step before it by then had finished the lab. */
  end: number;
}

export interface CourseInfo {
  chapters: ChapterInfo[];
  /** Share of right answers that passes a quiz (QUIZ_PASS_RATIO, given by the server so zod stays out of the page). */
  pass: number;
}

export type ChapterState = 'done' | 'in-progress' | 'not-started';

export interface ChapterSummary {
  read: boolean;
  stepsPassed: number;
  stepsTotal: number;
  quiz?: QuizBest;
  quizPassed: boolean;
  state: ChapterState;
}

/** The storage key; it includes the site's base path, so two courses on one origin stay apart. */
export function progressKey(base: string): string {
  return `scale-lab:${base}:progress`;
}

export function emptyProgress(): Progress {
  return { format: PROGRESS_FORMAT, chapters: {} };
}

/**
 * Upgrades from format n to n + 1. None yet: format 1 is the first. When the stored shape changes,
 * bump PROGRESS_FORMAT and add `[old]: (value) => valueInTheNextFormat` here.
 */
export const MIGRATIONS: Record<number, (value: Record<string, unknown>) => Record<string, unknown>> = {};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const CHAPTER_ID = /^\d\d-[a-z0-9-]+$/;

function isChapter(v: unknown): v is ChapterProgress {
  if (!isObject(v)) return false;
  const { read, steps, quiz } = v;
  if (read !== undefined && !isTime(read)) return false;
  if (steps !== undefined && !(isObject(steps) && Object.values(steps).every(isTime))) return false;
  if (quiz === undefined) return true;
  if (!isObject(quiz)) return false;
  const { score, total, at } = quiz;
  return Number.isInteger(score) && Number.isInteger(total) && (score as number) >= 0 && (total as number) > 0 && (score as number) <= (total as number) && isTime(at);
}

/**
 * Brings a stored (or imported) value to the current format, or returns undefined when it is not
 * progress of ours: not an object, no format, a format newer than this site, or a wrong shape.
 */
export function migrate(value: unknown, migrations = MIGRATIONS): Progress | undefined {
  if (!isObject(value) || !Number.isInteger(value.format)) return undefined;
  let current = value;
  while ((current.format as number) < PROGRESS_FORMAT) {
    const step = migrations[current.format as number];
    if (!step) return undefined;
    current = step(current);
    if (!isObject(current) || !Number.isInteger(current.format)) return undefined;
  }
  if (current.format !== PROGRESS_FORMAT) return undefined;
  const { reader, chapters } = current;
  if (reader !== undefined && typeof reader !== 'string') return undefined;
  if (!isObject(chapters)) return undefined;
  for (const [id, chapter] of Object.entries(chapters)) if (!CHAPTER_ID.test(id) || !isChapter(chapter)) return undefined;
  return current as unknown as Progress;
}

/** Where a chapter stands: done when read, every lab step passed and the quiz passed; in progress once any of these started. */
export function summarize(info: ChapterInfo, progress: ChapterProgress | undefined, pass: number): ChapterSummary {
  const read = progress?.read !== undefined;
  const stepsPassed = info.steps.filter((s) => progress?.steps?.[s] !== undefined).length;
  const quiz = progress?.quiz;
  const quizPassed = info.questions === 0 || (!!quiz && quiz.score / quiz.total >= pass);
  const started = read || stepsPassed > 0 || !!quiz;
  const done = read && stepsPassed === info.steps.length && quizPassed;
  return { read, stepsPassed, stepsTotal: info.steps.length, quiz, quizPassed, state: done ? 'done' : started ? 'in-progress' : 'not-started' };
}

const DAY_MS = 86_400_000;

/** An added step as the course info carries it, from its lab's steps (each with its `added` day, if any). */
export function addedStep(steps: readonly { id: string; title: string; added?: string }[], index: number): AddedStep {
  const step = steps[index]!;
  const on = step.added!;
  // The steps before it: those the lab first shipped with, and those added on an earlier day.
  const before = steps.filter((s) => s.id !== step.id && !(s.added && s.added >= on)).map((s) => s.id);
  return { id: step.id, number: index + 1, title: step.title, on, before, end: Date.parse(on) + DAY_MS };
}

/**
 * Whether an added step explains why a lab the reader had finished is unfinished again: not passed
 * yet, and published after the reader had passed every step the lab had before it (by the end of
 * its day, so a reader who finished on the day of the change counts). Small: it runs on every page.
 */
export const isNews = (step: AddedStep, passed: Record<string, number> = {}): boolean =>
  passed[step.id] === undefined && step.before.length > 0 && step.before.every((id) => (passed[id] ?? Infinity) < step.end);

/** The added steps of a chapter that are news to this reader. */
export const addedAfterFinishing = (info: ChapterInfo, progress: ChapterProgress | undefined): AddedStep[] => (info.added ?? []).filter((s) => isNews(s, progress?.steps));

/** A lab added to a chapter on the day `on`, from its steps (each with its `added` day, if any). */
export function addedLab(on: string, steps: readonly { id: string; added?: string }[]): AddedLab {
  return { on, end: Date.parse(on) + DAY_MS, steps: steps.filter((s) => !s.added || s.added <= on).map((s) => s.id) };
}

/**
 * Whether the chapter's lab explains why a chapter the reader had finished is unfinished again: the
 * reader had read it and passed its quiz (the best result reached) by the end of the lab's day, and
 * has not yet passed every step the lab shipped with. A reader who had not finished the chapter sees
 * nothing new. Small: it runs on every page.
 */
export function isLabNews(info: ChapterInfo, progress: ChapterProgress | undefined, pass: number): boolean {
  const lab = info.labAdded;
  if (!lab || progress?.read === undefined || progress.read >= lab.end) return false;
  const quiz = progress.quiz;
  if (info.questions > 0 && !(quiz && quiz.score / quiz.total >= pass && quiz.at < lab.end)) return false;
  return lab.steps.some((id) => progress.steps?.[id] === undefined);
}

/** Whether `a` is a better quiz result than `b`: a higher share of right answers, or as high and earlier. */
export function betterQuiz(a: QuizBest, b: QuizBest | undefined): boolean {
  if (!b) return true;
  const d = a.score / a.total - b.score / b.total;
  return d > 0 || (d === 0 && a.total === b.total && a.at < b.at);
}

export class ProgressStore {
  readonly #storage: Storage;
  readonly key: string;
  /** The key a corrupt or foreign value was moved to by this store (only once written there), for the notice. */
  setAside: string | undefined;
  /** Whether the last save did not reach storage, so a caller can say so. */
  lastSaveFailed = false;
  /** An unreadable value could not be moved aside: it must not be overwritten. */
  #blocked = false;

  constructor(storage: Storage, base: string) {
    this.#storage = storage;
    this.key = progressKey(base);
  }

  /** The reader's progress (empty if none). A value that is not ours is set aside (kept under another key), never deleted. */
  load(): Progress {
    let raw: string | null = null;
    try {
      raw = this.#storage.getItem(this.key);
      if (raw === null) return emptyProgress();
      const progress = migrate(JSON.parse(raw));
      if (progress) return progress;
    } catch {
      // Not JSON, or storage unreadable: set aside below (when there is something to set aside).
    }
    if (raw !== null) {
      const aside = `${this.key}:set-aside:${Date.now()}`;
      try {
        this.#storage.setItem(aside, raw);
        this.#storage.removeItem(this.key);
        this.setAside ??= aside;
        this.#blocked = false;
      } catch {
        // Storage full or blocked: the value stays where it is, and nothing is saved over it.
        this.#blocked = true;
      }
    }
    return emptyProgress();
  }

  /** Writes the whole value; false when it was not written (storage full or blocked, or an unreadable value in the way). */
  save(progress: Progress): boolean {
    this.lastSaveFailed = true;
    if (this.#blocked) return false;
    try {
      this.#storage.setItem(this.key, JSON.stringify(progress));
      this.lastSaveFailed = false;
      return true;
    } catch {
      return false;
    }
  }

  /** Reads, changes one chapter and writes back, so changes made in another tab meanwhile are kept. */
  #update(chapter: string, change: (c: ChapterProgress) => boolean): boolean {
    const progress = this.load();
    const entry = (progress.chapters[chapter] ??= {});
    return change(entry) && this.save(progress);
  }

  /** Marks a chapter as read; the first time counts. */
  markRead(chapter: string, at = Date.now()): boolean {
    return this.#update(chapter, (c) => c.read === undefined && ((c.read = at), true));
  }

  /** Records a lab step that passed; the first pass counts. */
  passStep(chapter: string, step: string, at = Date.now()): boolean {
    return this.#update(chapter, (c) => (c.steps ??= {})[step] === undefined && ((c.steps[step] = at), true));
  }

  /** Records a quiz attempt and returns the best result so far. */
  recordQuiz(chapter: string, score: number, total: number, at = Date.now()): QuizBest {
    let best: QuizBest | undefined;
    this.#update(chapter, (c) => {
      const attempt = { score, total, at };
      const better = betterQuiz(attempt, c.quiz);
      if (better) c.quiz = attempt;
      best = c.quiz;
      return better;
    });
    return best!;
  }

  setReader(name: string): boolean {
    const progress = this.load();
    progress.reader = name.trim() || undefined;
    return this.save(progress);
  }
}

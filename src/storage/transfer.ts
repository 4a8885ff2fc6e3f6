/**
 * Export and import of a reader's work as one JSON file: their progress and their lab edits.
 * Import validates the file and merges it by timestamp, so it never silently overwrites newer work:
 * per lab file the newer `savedAt` wins, quiz best is the better of the two, read is the earliest,
 * steps passed are the union. It returns, in words, what was merged and what newer work was kept.
 * DOM-free: it is given a Storage-like object; the Progress and Team pages do the clicking.
 */
import { LAB_EDITS_FORMAT, LabEditsStore, labEditsKey, type SavedLab } from './lab-edits.ts';
import { betterQuiz, migrate, ProgressStore, summarize, type ChapterProgress, type ChapterSummary, type CourseInfo, type Progress, type QuizBest } from './progress.ts';

export const EXPORT_FORMAT = 'scale-lab-export';
export const EXPORT_VERSION = 1;

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** When the file was made, ISO 8601. */
  exportedAt: string;
  /** The reader's name as they gave it (may be empty). */
  reader: string;
  progress: Progress;
  /** By lab name, e.g. "01-clones". */
  labEdits: Record<string, SavedLab>;
}

export interface MergeReport {
  /** What the file brought in, one sentence each. */
  merged: string[];
  /** Where this browser had newer or better work than the file, and kept it. */
  kept: string[];
}

/** Chapter or lab id → what to call it in a report sentence. */
export type Names = Record<string, string>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A save time a date can be made of (a file could hold 1e300, which no date can show). */
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && !Number.isNaN(new Date(v).getTime());

/** What is wrong with one lab's edits in an export, in the reader's words; undefined when nothing is. */
function savedLabProblem(value: unknown, lab: string): string | undefined {
  const where = `the edits of the lab "${lab}"`;
  if (!isObject(value)) return `${where} are not a saved lab`;
  if (value.format !== LAB_EDITS_FORMAT) return `${where} are in a format this course cannot read (format ${JSON.stringify(value.format)})`;
  if (value.lab !== lab) return `${where} say they belong to another lab (${JSON.stringify(value.lab)})`;
  if (typeof value.starterVersion !== 'string') return `${where} do not say which starter they were made on`;
  if (!isObject(value.starter) || !Object.values(value.starter).every((t) => typeof t === 'string')) return `${where} have a starter that is not a set of texts`;
  if (!isObject(value.files)) return `${where} have no files`;
  for (const [file, f] of Object.entries(value.files)) {
    if (!isObject(f) || typeof f.text !== 'string') return `${where} have a file, ${file}, without its text`;
    if (!isTime(f.savedAt)) return `${where} have a file, ${file}, whose save time is not a date`;
  }
  return undefined;
}

/** The labs with saved edits in this storage (by scanning keys, so labs this build does not list are kept too). */
export function savedLabNames(storage: Storage, base: string): string[] {
  const prefix = labEditsKey(base, '');
  const names: string[] = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (key?.startsWith(prefix) && /^[a-z0-9-]+$/.test(key.slice(prefix.length))) names.push(key.slice(prefix.length));
  }
  return names.sort();
}

/** Everything this browser holds for the course, as an export file. */
export function buildExport(storage: Storage, base: string, now = Date.now()): ExportFile {
  const progress = new ProgressStore(storage, base).load();
  const labEdits: Record<string, SavedLab> = {};
  for (const lab of savedLabNames(storage, base)) {
    const { saved } = new LabEditsStore(storage, base, lab).load();
    if (saved) labEdits[lab] = saved;
  }
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date(now).toISOString(), reader: progress.reader ?? '', progress, labEdits };
}

/** A file name for an export: scale-lab-progress-<reader>-<date>.json. */
export function exportFileName(file: ExportFile): string {
  const who = file.reader.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `scale-lab-progress-${who ? `${who}-` : ''}${file.exportedAt.slice(0, 10)}.json`;
}

/**
 * Reads an export file's text; throws an Error whose message says, for the reader, what is wrong.
 * `labs`, the labs this course has: edits for any other are refused rather than stored under a key.
 */
export function parseExport(text: string, labs?: readonly string[]): ExportFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('it is not a JSON file');
  }
  if (!isObject(data) || data.format !== EXPORT_FORMAT) throw new Error('it is not a Scale Lab progress export (no "format": "scale-lab-export")');
  if (typeof data.version !== 'number') throw new Error('it does not say which export version it is ("version" is missing): it is not a whole export');
  if (data.version > EXPORT_VERSION) throw new Error(`it was made by a newer version of the course (export version ${data.version}); reload the site to update it, then import again`);
  if (data.version !== EXPORT_VERSION) throw new Error(`its export version ${String(data.version)} is not one this course knows`);
  if (typeof data.exportedAt !== 'string' || Number.isNaN(Date.parse(data.exportedAt))) throw new Error('"exportedAt" is not a date');
  if (typeof data.reader !== 'string') throw new Error('"reader" is not a text');
  const progress = migrate(data.progress);
  if (!progress) throw new Error('its "progress" is not in a format this course can read');
  if (!isObject(data.labEdits)) throw new Error('"labEdits" is missing');
  for (const [lab, saved] of Object.entries(data.labEdits)) {
    if (!/^[a-z0-9-]+$/.test(lab) || (labs && !labs.includes(lab))) throw new Error(`it has edits for a lab this course does not have (${JSON.stringify(lab)})`);
    const problem = savedLabProblem(saved, lab);
    if (problem) throw new Error(problem);
  }
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: data.exportedAt, reader: data.reader, progress, labEdits: data.labEdits as Record<string, SavedLab> };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const quizText = (q: QuizBest) => `${q.score} of ${q.total}`;

/** Merges imported progress into local progress: read = earliest, steps = union (earliest pass), quiz best = the better. */
export function mergeProgress(local: Progress, incoming: Progress, names: Names = {}): { progress: Progress } & MergeReport {
  const merged: string[] = [];
  const kept: string[] = [];
  const out: Progress = structuredClone(local);
  if (!out.reader && incoming.reader) out.reader = incoming.reader;
  for (const [id, theirs] of Object.entries(incoming.chapters)) {
    const name = names[id] ?? id;
    const mine: ChapterProgress = (out.chapters[id] ??= {});
    if (theirs.read !== undefined) {
      if (mine.read === undefined) merged.push(`${name}: marked as read`);
      if (mine.read === undefined || theirs.read < mine.read) mine.read = theirs.read;
    }
    const newSteps: string[] = [];
    for (const [step, at] of Object.entries(theirs.steps ?? {})) {
      const steps = (mine.steps ??= {});
      if (steps[step] === undefined) newSteps.push(step);
      if (steps[step] === undefined || at < steps[step]) steps[step] = at;
    }
    if (newSteps.length) merged.push(`${name}: lab step${newSteps.length > 1 ? 's' : ''} passed: ${newSteps.join(', ')}`);
    if (theirs.quiz) {
      if (betterQuiz(theirs.quiz, mine.quiz)) {
        if (!mine.quiz || quizText(mine.quiz) !== quizText(theirs.quiz)) merged.push(`${name}: quiz best ${quizText(theirs.quiz)}${mine.quiz ? ` (was ${quizText(mine.quiz)})` : ''}`);
        mine.quiz = { ...theirs.quiz };
      } else if (quizText(mine.quiz!) !== quizText(theirs.quiz)) {
        kept.push(`${name}: your quiz best ${quizText(mine.quiz!)} (the file has ${quizText(theirs.quiz)})`);
      }
    }
    if (Object.keys(mine).length === 0) delete out.chapters[id];
  }
  return { progress: out, merged, kept };
}

/** Merges one lab's imported edits into the local ones: per file, the newer `savedAt` wins. */
export function mergeLab(local: SavedLab | undefined, incoming: SavedLab, names: Names = {}): { lab: SavedLab } & MergeReport {
  const name = names[incoming.lab] ?? incoming.lab;
  if (!local) {
    const files = Object.keys(incoming.files);
    return { lab: structuredClone(incoming), merged: files.length ? [`${name} lab: your edits to ${files.join(', ')}`] : [], kept: [] };
  }
  const merged: string[] = [];
  const kept: string[] = [];
  const out: SavedLab = structuredClone(local);
  for (const [file, theirs] of Object.entries(incoming.files)) {
    const mine = out.files[file];
    if (!mine || theirs.savedAt > mine.savedAt) {
      if (mine?.text !== theirs.text) merged.push(`${name} lab: ${file} (saved ${day(theirs.savedAt)})`);
      out.files[file] = { ...theirs };
    } else if (theirs.text !== mine.text) {
      kept.push(`${name} lab: your ${file} (saved ${day(mine.savedAt)}) is newer than the file's (saved ${day(theirs.savedAt)})`);
    }
  }
  return { lab: out, merged, kept };
}

/** Imports a parsed export into this storage, merging; returns what was merged and what was kept. */
export function importExport(storage: Storage, base: string, file: ExportFile, names: Names = {}): MergeReport {
  const store = new ProgressStore(storage, base);
  const result = mergeProgress(store.load(), file.progress, names);
  const writes: [string, string][] = [[store.key, JSON.stringify(result.progress)]];
  for (const [lab, saved] of Object.entries(file.labEdits)) {
    const local = new LabEditsStore(storage, base, lab).load().saved;
    const r = mergeLab(local, saved, names);
    result.merged.push(...r.merged);
    result.kept.push(...r.kept);
    writes.push([labEditsKey(base, lab), JSON.stringify(r.lab)]);
  }
  try {
    for (const [key, value] of writes) storage.setItem(key, value);
  } catch (err) {
    throw new Error(`this browser refused to store it (${(err as Error).message}); free some site storage and import again`);
  }
  return { merged: result.merged, kept: result.kept };
}

/** CSV (RFC 4180) of rows; a cell that a spreadsheet would run as a formula is prefixed with '. */
export function toCsv(rows: (string | number)[][]): string {
  const cell = (v: string | number) => {
    let s = String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** One reader's row in the team view. */
export interface TeamRow {
  reader: string;
  /** The file it came from. */
  file: string;
  exportedAt: string;
  /** Per chapter, in course order. */
  chapters: ChapterSummary[];
  done: number;
}

export function teamRow(file: ExportFile, fileName: string, course: CourseInfo): TeamRow {
  const chapters = course.chapters.map((c) => summarize(c, file.progress.chapters[c.id], course.pass));
  return { reader: file.reader.trim() || fileName, file: fileName, exportedAt: file.exportedAt, chapters, done: chapters.filter((c) => c.state === 'done').length };
}

/** A number that orders readers on one chapter: state first, then quiz share, lab steps, read. */
export function chapterRank(s: ChapterSummary): number {
  const state = s.state === 'done' ? 2 : s.state === 'in-progress' ? 1 : 0;
  return state * 1e6 + (s.quiz ? Math.round((s.quiz.score / s.quiz.total) * 1000) : 0) * 100 + s.stepsPassed * 2 + (s.read ? 1 : 0);
}

/** The team table as CSV: one row per reader; per chapter read, lab steps, quiz %, state. */
export function teamCsv(rows: TeamRow[], course: CourseInfo): string {
  const head = ['Reader', 'File', 'Exported at', 'Chapters done'];
  for (const c of course.chapters) head.push(`${c.title}: read`, `${c.title}: lab steps passed`, `${c.title}: quiz %`, `${c.title}: state`);
  return toCsv([
    head,
    ...rows.map((r) => [
      r.reader,
      r.file,
      r.exportedAt,
      r.done,
      ...r.chapters.flatMap((s) => [
        s.read ? 'yes' : 'no',
        s.stepsTotal ? `${s.stepsPassed} of ${s.stepsTotal}` : '',
        s.quiz ? Math.round((s.quiz.score / s.quiz.total) * 100) : '',
        s.state,
      ]),
    ]),
  ]);
}

/**
 * Server side only (Astro components): what the browser needs to judge progress, taken from the
 * docs, quizzes and labs at build time. The pages embed it as JSON, so the page code needs neither
 * the collections nor zod.
 */
import { getCollection } from 'astro:content';
import { parseLab, type Lab } from '../../../labs/harness/lab-schema.ts';
import { QUIZ_PASS_RATIO } from '../../schemas/quiz.ts';
import { addedLab, addedStep, type ChapterInfo, type CourseInfo } from '../../storage/progress.ts';

const labFiles = import.meta.glob<{ default: unknown }>('../../../labs/*/lab.json', { eager: true });

let cached: CourseInfo | undefined;

/** One chapter's info: its lab's step ids, the steps added after the lab first shipped, and when the lab came if the chapter once had none. */
export function chapterInfo(id: string, title: string, lab: Lab | undefined, questions: number): ChapterInfo {
  const steps = lab?.steps ?? [];
  const added = steps.flatMap((s, i) => (s.added ? [addedStep(steps, i)] : []));
  return { id, title, steps: steps.map((s) => s.id), questions, ...(added.length ? { added } : {}), ...(lab?.added ? { labAdded: addedLab(lab.added, steps) } : {}) };
}

/** The chapters in sidebar order, each with its lab's step ids and its number of quiz questions. */
export async function courseInfo(): Promise<CourseInfo> {
  if (cached && import.meta.env.PROD) return cached;
  const labs = new Map<string, Lab>();
  for (const [path, mod] of Object.entries(labFiles)) {
    const name = path.split('/').at(-2)!;
    labs.set(name, parseLab(mod.default, `labs/${name}/lab.json`));
  }
  const quizzes = new Map((await getCollection('quizzes')).map((q) => [q.id, q.data.questions.length]));
  const docs = (await getCollection('docs')).filter((d) => d.id.startsWith('chapters/'));
  docs.sort((a, b) => (a.data.sidebar.order ?? 0) - (b.data.sidebar.order ?? 0) || a.id.localeCompare(b.id));
  cached = {
    pass: QUIZ_PASS_RATIO,
    chapters: docs.map((d) => {
      const id = d.id.slice('chapters/'.length);
      return chapterInfo(id, d.data.title, labs.get(id), quizzes.get(id) ?? 0);
    }),
  };
  return cached;
}

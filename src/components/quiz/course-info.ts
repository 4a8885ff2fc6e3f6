/**
 * Server side only (Astro components): what the browser needs to judge progress, taken from the
 * docs, quizzes and labs at build time. The pages embed it as JSON, so the page code needs neither
 * the collections nor zod.
 */
import { getCollection } from 'astro:content';
import { parseLab } from '../../../labs/harness/lab-schema.ts';
import { QUIZ_PASS_RATIO } from '../../schemas/quiz.ts';
import type { CourseInfo } from '../../storage/progress.ts';

const labFiles = import.meta.glob<{ default: unknown }>('../../../labs/*/lab.json', { eager: true });

let cached: CourseInfo | undefined;

/** The chapters in sidebar order, each with its lab's step ids and its number of quiz questions. */
export async function courseInfo(): Promise<CourseInfo> {
  if (cached && import.meta.env.PROD) return cached;
  const labs = new Map<string, string[]>();
  for (const [path, mod] of Object.entries(labFiles)) {
    const name = path.split('/').at(-2)!;
    labs.set(name, parseLab(mod.default, `labs/${name}/lab.json`).steps.map((s) => s.id));
  }
  const quizzes = new Map((await getCollection('quizzes')).map((q) => [q.id, q.data.questions.length]));
  const docs = (await getCollection('docs')).filter((d) => d.id.startsWith('chapters/'));
  docs.sort((a, b) => (a.data.sidebar.order ?? 0) - (b.data.sidebar.order ?? 0) || a.id.localeCompare(b.id));
  cached = {
    pass: QUIZ_PASS_RATIO,
    chapters: docs.map((d) => {
      const id = d.id.slice('chapters/'.length);
      return { id, title: d.data.title, steps: labs.get(id) ?? [], questions: quizzes.get(id) ?? 0 };
    }),
  };
  return cached;
}

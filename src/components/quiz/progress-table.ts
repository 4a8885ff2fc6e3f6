/**
 * The course table of the Progress page (ProgressTable.astro), filled from stored progress: per
 * chapter, read, lab steps passed (and why a finished lab or chapter is unfinished again), quiz best, state.
 */
import { addedLabMessage, addedStepMessage } from '../../storage/progress-messages.ts';
import { addedAfterFinishing, isLabNews, summarize, type ChapterState, type CourseInfo, type Progress } from '../../storage/progress.ts';

const STATE = { done: 'Done', 'in-progress': 'In progress', 'not-started': 'Not started' } as const;
const date = (ms: number) => new Date(ms).toLocaleDateString();

/** Fills every row of the table under `root`; returns how many chapters are in each state. */
export function renderProgressTable(root: HTMLElement, info: CourseInfo, progress: Progress): Record<ChapterState, number> {
  const count = { done: 0, 'in-progress': 0, 'not-started': 0 };
  for (const chapter of info.chapters) {
    const row = root.querySelector<HTMLTableRowElement>(`tr[data-chapter="${chapter.id}"]`);
    if (!row) continue;
    const s = summarize(chapter, progress.chapters[chapter.id], info.pass);
    count[s.state]++;
    const cell = (name: string, text: string) => (row.querySelector(`[data-col="${name}"]`)!.textContent = text);
    cell('read', s.read ? `Yes, ${date(progress.chapters[chapter.id]!.read!)}` : 'No');
    cell('lab', s.stepsTotal ? `${s.stepsPassed} of ${s.stepsTotal}` : 'No lab');
    const note = (testid: string, text: string) => {
      const p = row.querySelector('[data-col="lab"]')!.appendChild(document.createElement('p'));
      p.className = 'progress-added-step';
      p.dataset.testid = testid;
      p.textContent = text;
    };
    if (isLabNews(chapter, progress.chapters[chapter.id], info.pass)) note('progress-added-lab', addedLabMessage(chapter));
    for (const step of addedAfterFinishing(chapter, progress.chapters[chapter.id])) note('progress-added-step', addedStepMessage(step));
    cell('quiz', s.quiz ? `${s.quiz.score} of ${s.quiz.total} (${Math.round((s.quiz.score / s.quiz.total) * 100)} %)` : chapter.questions ? 'Not taken' : 'No quiz');
    cell('state', STATE[s.state]);
    row.dataset.state = s.state;
  }
  return count;
}

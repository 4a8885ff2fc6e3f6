/**
 * Self-check quizzes: one JSON file per chapter in src/content/quizzes/<chapter>.json, validated by
 * this schema when the site builds. A malformed quiz fails the build, naming the file and the field.
 */
import { z } from 'zod';

const id = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'use lower-case words joined by dashes, like "sticky-sessions"');

export const quizOptionSchema = z.object({
  /** Stable within its question, e.g. "central-store". */
  id,
  /** The answer as the reader sees it. */
  text: z.string().min(1),
  /** Whether choosing this option is right. */
  correct: z.boolean(),
  /** Why this option is right or wrong, shown after answering. */
  explanation: z.string({ error: 'every option needs an explanation' }).min(1, 'every option needs an explanation'),
});

export const quizQuestionSchema = z
  .object({
    /** Stable within the quiz, e.g. "dead-server-sessions". */
    id,
    /**
     * `single`: one right option; `multiple`: one or more right options, the reader ticks all;
     * `predict`: a scenario, and the reader predicts what happens (one right option).
     */
    kind: z.enum(['single', 'multiple', 'predict']),
    /** For `predict`: the situation, e.g. "app-2 dies while holding sessions in memory." */
    scenario: z.string().min(1).optional(),
    /** The question. */
    prompt: z.string().min(1),
    options: z.array(quizOptionSchema).min(2, 'a question needs at least two options').max(6),
  })
  .superRefine((q, ctx) => {
    const right = q.options.filter((o) => o.correct).length;
    if (right === 0) ctx.addIssue({ code: 'custom', path: ['options'], message: `question "${q.id}" has no correct option` });
    if (q.kind !== 'multiple' && right > 1) ctx.addIssue({ code: 'custom', path: ['options'], message: `question "${q.id}" is "${q.kind}" but has ${right} correct options; use "multiple"` });
    if (q.kind === 'predict' && !q.scenario) ctx.addIssue({ code: 'custom', path: ['scenario'], message: `question "${q.id}" is "predict" and needs a scenario` });
    const seen = new Set<string>();
    q.options.forEach((o, i) => {
      if (seen.has(o.id)) ctx.addIssue({ code: 'custom', path: ['options', i, 'id'], message: `duplicate option id "${o.id}" in question "${q.id}"` });
      seen.add(o.id);
    });
  });

export const quizSchema = z
  .object({
    /** The chapter this quiz closes: its file name under chapters/, e.g. "01-clones". */
    chapter: z.string().regex(/^\d\d-[a-z0-9-]+$/),
    /** 6 to 14 questions, in order: the chapter's ideas, then its lab's. */
    questions: z.array(quizQuestionSchema).min(6, 'a quiz has at least 6 questions').max(14, 'a quiz has at most 14 questions'),
  })
  .superRefine((quiz, ctx) => {
    const seen = new Set<string>();
    quiz.questions.forEach((q, i) => {
      if (seen.has(q.id)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `duplicate question id "${q.id}"` });
      seen.add(q.id);
    });
  });

export type Quiz = z.infer<typeof quizSchema>;
export type QuizQuestion = Quiz['questions'][number];

/** Passing mark: a chapter counts as done with a best quiz score of at least this share. */
export const QUIZ_PASS_RATIO = 0.8;

/** Validates a parsed quiz; the error names the file and every wrong field. */
export function parseQuiz(data: unknown, file: string): Quiz {
  const result = quizSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new Error(`${file} is not a valid quiz:\n${problems.join('\n')}`);
}

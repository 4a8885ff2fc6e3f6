/**
 * The lab format: `labs/<nn-topic>/lab.json`, validated by this schema. A lab is a folder with
 * `starter/` (every file the cluster needs, as the reader first sees them), `solution/` (the files
 * that change), `tests/` (one graded test file per step) and `mistakes/<id>.json` (a classic wrong
 * answer as edits to the solution, which the grader check expects to fail the step it targets; see
 * mistake.ts).
 */
import { z } from 'zod';

export const slug = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'use lower-case words joined by dashes, like "round-robin"');
const relativeFile = z.string().regex(/^[a-z0-9][a-z0-9./-]*\.ts$/, 'a .ts file path relative to the folder, like "balancer.ts"').refine((p) => !p.includes('..'), 'must not leave the folder');

export const labStepSchema = z.object({
  /** Stable id, used in results, progress and `data-step`: e.g. "round-robin". */
  id: slug,
  /** Short title shown in the step list: e.g. "Round robin". */
  title: z.string().min(1),
  /** What the reader does in this step, in one or two sentences. */
  task: z.string().min(1),
  /** The graded test file of this step, relative to the lab folder: e.g. "tests/01-round-robin.test.ts". */
  test: z.string().regex(/^tests\/[a-z0-9-]+\.test\.ts$/, 'a file under tests/ ending in .test.ts'),
  /** Hints revealed one at a time, from a nudge to nearly the answer. */
  hints: z.array(z.string().min(1)).min(1, 'give at least one hint'),
  /**
   * For a step added to a lab readers may already have finished: the day it was published,
   * "YYYY-MM-DD" (UTC). A reader who had passed every earlier step by the end of that day is told, on
   * the chapter and the Progress page, that this step is why the chapter shows as in progress again.
   * Leave it out for the steps a lab first shipped with.
   */
  added: z.iso.date('a date written as YYYY-MM-DD, like "2026-11-26"').optional(),
});

export const labSchema = z
  .object({
    /** The lab's title: e.g. "Put three clones behind your balancer". */
    title: z.string().min(1),
    /** The chapter this lab belongs to: the lab folder name, e.g. "01-clones". */
    chapter: z.string().regex(/^\d\d-[a-z0-9-]+$/),
    /** One paragraph: the cluster the reader gets and what they will build. */
    summary: z.string().min(1),
    /** Files the reader edits, in tab order; every other starter file is provided and read-only. */
    editable: z.array(relativeFile).min(1),
    /**
     * For a lab added to a chapter that had none, which readers may already have finished by reading
     * it and passing its quiz: the day the lab was published, "YYYY-MM-DD" (UTC). Such a reader is
     * told, on the chapter and the Progress page, that the lab is why the chapter shows as in progress
     * again. Leave it out for a lab its chapter was published with.
     */
    added: z.iso.date('a date written as YYYY-MM-DD, like "2026-11-26"').optional(),
    /** The steps, in order; each builds on the previous ones, and all stay graded. */
    steps: z.array(labStepSchema).min(1),
    /** How to build the lab's cluster, for `npm run lab -- <topic> --serve` and the live preview. */
    cluster: z.object({
      /** The starter file that builds the cluster: e.g. "cluster.ts". */
      file: relativeFile,
      /** Its exported function `(options) => Cluster | Promise<Cluster>`: e.g. "createClonesCluster". */
      export: z.string().regex(/^[A-Za-z_$][\w$]*$/),
      /** The node clients talk to: e.g. "lb". */
      entry: slug,
    }),
  })
  .superRefine((lab, ctx) => {
    const ids = new Set<string>();
    lab.steps.forEach((step, i) => {
      if (ids.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${step.id}"` });
      ids.add(step.id);
    });
    const tests = new Set<string>();
    lab.steps.forEach((step, i) => {
      if (tests.has(step.test)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'test'], message: `two steps share the test file "${step.test}"` });
      tests.add(step.test);
    });
    lab.steps.forEach((step, i) => {
      if (lab.added && step.added && step.added < lab.added) ctx.addIssue({ code: 'custom', path: ['steps', i, 'added'], message: `a step cannot be added (${step.added}) before its lab (${lab.added})` });
    });
    if (new Set(lab.editable).size !== lab.editable.length) ctx.addIssue({ code: 'custom', path: ['editable'], message: 'a file is listed twice' });
  });

/** A lab.json as written. */
export type LabInput = z.input<typeof labSchema>;
/** A lab.json after validation, defaults filled in. */
export type Lab = z.infer<typeof labSchema>;
export type LabStep = Lab['steps'][number];

/** Validates a parsed lab.json; the error names the file and every field that is wrong. */
export function parseLab(data: unknown, file: string): Lab {
  const result = labSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new Error(`${file} is not a valid lab:\n${problems.join('\n')}`);
}

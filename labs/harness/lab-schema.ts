/**
 * The lab format: `labs/<nn-topic>/lab.json`, validated by this schema. A lab is a folder with
 * `starter/` (every file the cluster needs, as the reader first sees them), `solution/` (the files
 * that change), `tests/` (one graded test file per step) and `mistakes/<id>/` (the solution with one
 * classic mistake, which CI expects to fail the step it targets).
 */
import { z } from 'zod';

const slug = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'use lower-case words joined by dashes, like "round-robin"');
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
});

export const labMistakeSchema = z.object({
  /** Folder under `mistakes/` holding the changed files. */
  id: slug,
  /** The classic mistake, in words: e.g. "a balancer that always picks the first server". */
  mistake: z.string().min(1),
  /** The step this mistake must fail. */
  step: slug,
  /** Text the failure message must contain, so the reader is told what the mistake is. */
  message: z.string().min(1),
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
    /** Classic wrong answers that CI runs, each expected to fail one step. */
    mistakes: z.array(labMistakeSchema).default([]),
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
    lab.mistakes.forEach((m, i) => {
      if (!ids.has(m.step)) ctx.addIssue({ code: 'custom', path: ['mistakes', i, 'step'], message: `no step has the id "${m.step}" (steps: ${[...ids].join(', ')})` });
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

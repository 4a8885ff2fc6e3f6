/**
 * A mistake fixture: a plausible wrong answer to one step, kept as edits to the solution so that it
 * stays the size of the mistake. `labs/<lab>/mistakes/<id>.json`, or `<DIR>/<lab>/<id>.json` for an
 * instructor's own (`npm run test:graders -- --fixtures DIR`). The grader check expects it to fail
 * `step` with a message containing `message`.
 */
import { z } from 'zod';
import { slug } from './lab-schema.ts';

export const editSchema = z.object({
  /** An editable file of the lab, e.g. "balancer.ts". */
  file: z.string().min(1),
  /** Text of the solution's file (after the edits before this one) that must occur exactly once. */
  find: z.string().min(1),
  replace: z.string(),
});

export const mistakeSchema = z.object({
  /** The wrong answer, in words: e.g. "a balancer that always picks the first server". */
  mistake: z.string().min(1),
  /** The step it must fail. */
  step: slug,
  /** Text the failure message must contain, so the reader is told what the mistake is. */
  message: z.string().min(1),
  /** Applied in order to the solution. */
  edits: z.array(editSchema).min(1, 'give at least one edit'),
});

export type Edit = z.infer<typeof editSchema>;
export type Mistake = z.infer<typeof mistakeSchema> & {
  /** The file name without .json, e.g. "always-first". */
  id: string;
};

/** Validates a parsed fixture; the error names the file and every field that is wrong. */
export function parseMistake(data: unknown, id: string, file: string): Mistake {
  const result = mistakeSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`${file} is not a valid mistake fixture:\n${problems.join('\n')}`);
  }
  return { id, ...result.data };
}

function count(text: string, find: string): number {
  let n = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) n++;
  return n;
}

/**
 * The files with each edit applied in turn. Throws, listing every edit that does not apply: a file
 * that is not editable, or a `find` that does not occur exactly once (the solution changed under
 * the fixture, or the fixture is ambiguous).
 */
export function applyEdits(files: Readonly<Record<string, string>>, edits: readonly Edit[], editable: readonly string[], label: string): Record<string, string> {
  const out = { ...files };
  const problems: string[] = [];
  edits.forEach((edit, i) => {
    const where = `edit ${i + 1} (${edit.file})`;
    if (!editable.includes(edit.file) || out[edit.file] === undefined) {
      problems.push(`${where}: ${edit.file} is not an editable file of the lab (${editable.join(', ')})`);
      return;
    }
    const n = count(out[edit.file]!, edit.find);
    if (n !== 1) {
      const first = edit.find.split('\n').find((l) => l.trim()) ?? edit.find;
      problems.push(`${where}: its find text occurs ${n === 0 ? 'nowhere' : `${n} times`} in ${edit.file}, it must occur exactly once: ${JSON.stringify(first.trim())}${edit.find.includes('\n') ? ' …' : ''}`);
      return;
    }
    out[edit.file] = out[edit.file]!.replace(edit.find, () => edit.replace);
  });
  if (problems.length > 0) throw new Error(`${label} does not apply to the solution:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return out;
}

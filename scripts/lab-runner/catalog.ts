/** Finds labs on disk, validates them with their mistake fixtures, and reads the files a graded run uses. */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLab, type Lab } from '../../labs/harness/lab-schema.ts';
import { applyEdits, parseMistake, type Mistake } from '../../labs/harness/mistake.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const LABS_DIR = join(ROOT, 'labs');
/** Where readers' own copies and temporary layouts live; git-ignored. */
export const WORK_DIR = join(ROOT, '.lab-work');

export interface LabFolder {
  /** Folder name, e.g. "01-clones". */
  name: string;
  dir: string;
  lab: Lab;
  /** Its mistake fixtures, mistakes/<id>.json, by id. */
  mistakes: Mistake[];
}

/**
 * Every file under `dir` (none when it is missing), as sorted posix paths relative to it;
 * node_modules left out. Links are followed to files only: a dangling link (an editor's lock file)
 * or a link to a folder (which may loop) is skipped.
 */
export function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = join(dir, entry.name);
      if (entry.name === 'node_modules') return [];
      if (entry.isDirectory()) return listFiles(full, base);
      if (entry.isSymbolicLink()) {
        try {
          if (!statSync(full).isFile()) return [];
        } catch {
          return [];
        }
      } else if (!entry.isFile()) return [];
      return [relative(base, full).split(sep).join('/')];
    })
    .sort();
}

/** Every file of a folder by path, e.g. { "balancer.ts": "…" }. */
export function readTree(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/** Reads a lab's mistake fixtures from a folder of <id>.json files, checking each against the lab. */
export function readMistakes(dir: string, lab: Lab, shownAs: string): Mistake[] {
  if (!existsSync(dir)) return [];
  return listFiles(dir)
    .filter((f) => f.endsWith('.json') && !f.includes('/'))
    .map((f) => {
      const shown = `${shownAs}/${f}`;
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      } catch (err) {
        throw new Error(`${shown} is not valid JSON: ${(err as Error).message}`);
      }
      const mistake = parseMistake(data, f.replace(/\.json$/, ''), shown);
      if (!lab.steps.some((s) => s.id === mistake.step)) throw new Error(`${shown}: no step has the id "${mistake.step}" (steps: ${lab.steps.map((s) => s.id).join(', ')})`);
      return mistake;
    });
}

/** Loads and checks one lab: the schema, then that every file it names exists where it should. */
export function loadLab(dir: string): LabFolder {
  const name = dir.split(/[\\/]/).pop()!;
  const file = join(dir, 'lab.json');
  const lab = parseLab(JSON.parse(readFileSync(file, 'utf8')), relative(ROOT, file));
  const problems: string[] = [];
  if (lab.chapter !== name) problems.push(`chapter is "${lab.chapter}" but the folder is "${name}"`);
  const starter = listFiles(join(dir, 'starter'));
  for (const f of lab.editable) if (!starter.includes(f)) problems.push(`editable file ${f} is not in starter/`);
  for (const f of listFiles(join(dir, 'solution'))) if (!lab.editable.includes(f)) problems.push(`solution/${f} is not an editable file`);
  for (const step of lab.steps) if (!existsSync(join(dir, step.test))) problems.push(`step ${step.id}: ${step.test} does not exist`);
  if (!starter.includes(lab.cluster.file)) problems.push(`cluster.file ${lab.cluster.file} is not in starter/`);
  const extra = listFiles(join(dir, 'mistakes')).filter((f) => !/^[^/]+\.json$/.test(f));
  for (const f of extra) problems.push(`mistakes/${f}: a mistake is one <id>.json file of edits to the solution`);
  if (problems.length > 0) throw new Error(`${relative(ROOT, file)} does not match its folder:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { name, dir, lab, mistakes: readMistakes(join(dir, 'mistakes'), lab, relative(ROOT, join(dir, 'mistakes'))) };
}

/** Every lab folder (named like 01-clones), in order. */
export function allLabs(): LabFolder[] {
  return readdirSync(LABS_DIR)
    .filter((entry) => /^\d\d-/.test(entry) && existsSync(join(LABS_DIR, entry, 'lab.json')))
    .sort()
    .map((entry) => loadLab(join(LABS_DIR, entry)));
}

/** A lab by topic: "clones", "01-clones" or "01" all find labs/01-clones. */
export function findLab(topic: string): LabFolder {
  const names = readdirSync(LABS_DIR).filter((entry) => /^\d\d-/.test(entry));
  const match = names.find((n) => n === topic || n.slice(3) === topic || n.slice(0, 2) === topic);
  if (!match) throw new Error(`No lab named "${topic}". Labs: ${names.map((n) => n.slice(3)).join(', ')}`);
  return loadLab(join(LABS_DIR, match));
}

/** Every file of the lab as the starter has it. */
export function starterFiles(lab: LabFolder): Record<string, string> {
  return readTree(join(lab.dir, 'starter'));
}

/** Every file of the lab with the solution's files over the starter's. */
export function solutionFiles(lab: LabFolder): Record<string, string> {
  return { ...starterFiles(lab), ...readTree(join(lab.dir, 'solution')) };
}

/** Every file of the lab with a mistake's edits applied to the solution; throws when an edit does not apply. */
export function mistakeFiles(lab: LabFolder, mistake: Mistake, shownAs = `${lab.name}/mistakes/${mistake.id}.json`): Record<string, string> {
  return applyEdits(solutionFiles(lab), mistake.edits, lab.lab.editable, shownAs);
}

/**
 * The lab's files with the editable ones read from `dir` (a reader's copy, --files DIR), the
 * starter's where `dir` lacks one. A file there that is a dangling link or a link loop is an error
 * with a plain message, not a crash.
 */
export function filesFrom(lab: LabFolder, dir: string): Record<string, string> {
  const files = starterFiles(lab);
  for (const f of lab.lab.editable) {
    const path = join(dir, f);
    let isLink = false;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      continue;
    }
    try {
      if (!statSync(path).isFile()) throw new Error(`${path} is not a file.`);
      files[f] = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isLink && code === 'ENOENT') throw new Error(`${relative(process.cwd(), path)} is a link to a file that does not exist.`);
      if (code === 'ELOOP') throw new Error(`${relative(process.cwd(), path)} is a link that loops back on itself.`);
      throw new Error(`${relative(process.cwd(), path)} could not be read: ${(err as Error).message}`);
    }
  }
  return files;
}

/** Finds labs on disk, validates them, and lays out the files a graded run uses. */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLab, type Lab } from '../../labs/harness/lab-schema.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const LABS_DIR = join(ROOT, 'labs');
/** Where composed runs and readers' own copies live; git-ignored. */
export const WORK_DIR = join(ROOT, '.lab-work');

export interface LabFolder {
  /** Folder name, e.g. "01-clones". */
  name: string;
  dir: string;
  lab: Lab;
}

/** Every file under `dir` (none when it is missing), as sorted posix paths relative to it; node_modules left out. */
export function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((entry) => {
      const full = join(dir, entry);
      if (entry === 'node_modules') return [];
      return statSync(full).isDirectory() ? listFiles(full, base) : [relative(base, full).split(sep).join('/')];
    })
    .sort();
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
  for (const m of lab.mistakes) {
    const files = listFiles(join(dir, 'mistakes', m.id));
    if (files.length === 0) problems.push(`mistake ${m.id}: mistakes/${m.id}/ has no files`);
    for (const f of files) if (!lab.editable.includes(f)) problems.push(`mistakes/${m.id}/${f} is not an editable file`);
  }
  if (!starter.includes(lab.cluster.file)) problems.push(`cluster.file ${lab.cluster.file} is not in starter/`);
  if (problems.length > 0) throw new Error(`${relative(ROOT, file)} does not match its folder:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { name, dir, lab };
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

/** The files of one variant of a lab: starter, then the overlays in order (solution, a mistake, a reader's copy). */
export function composeFiles(lab: LabFolder, overlays: string[], into: string): string {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  cpSync(join(lab.dir, 'starter'), into, { recursive: true });
  for (const overlay of overlays) {
    for (const f of listFiles(overlay)) {
      if (lab.lab.editable.includes(f)) cpSync(join(overlay, f), join(into, f));
    }
  }
  return into;
}

/** Reads the editable files of a folder into a name → text map. */
export function readEditable(lab: LabFolder, dir: string): Record<string, string> {
  return Object.fromEntries(lab.lab.editable.filter((f) => existsSync(join(dir, f))).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * A lab to take away, and back: the reader's files packed as a zip laid out as WebContainer mounts
 * the lab (so `node run-tests.mjs` in the unzipped folder grades them with Node alone), and the
 * reverse, edited files (that zip, or single files) read back with every name and size checked.
 * DOM-free, so it is unit-tested in Node; the page does the clicking (components/lab/lab-files.ts).
 */
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { LabBundle } from '../../labs/harness/bundle.ts';
import { MOUNTED } from '../../labs/harness/protocol.ts';
import { mountedFiles, type WebContainerAssets } from './webcontainer/tree.ts';

/** The file beside run-tests.mjs that says what the folder is and what to type. */
export const README_FILE = 'README.txt';
/** A lab file larger than this is refused: a starter file is a few KB. */
export const MAX_FILE_BYTES = 200_000;
/** A chosen file (zip or not) larger than this is refused before it is read. */
export const MAX_UPLOAD_BYTES = 20_000_000;

/** The name of the lab without its number, as `npm run lab -- <topic>` takes it. */
export const labTopic = (bundle: LabBundle) => bundle.name.replace(/^\d\d-/, '');

export const archiveName = (bundle: LabBundle) => `${bundle.name}.zip`;

/** What the unzipped folder says about itself. */
export function readmeText(bundle: LabBundle): string {
  const { lab } = bundle;
  const provided = Object.keys(bundle.starter).filter((f) => !lab.editable.includes(f)).sort();
  return `${lab.title}: your files from Scale Lab

  ${MOUNTED.labDir}/                your files: edit ${lab.editable.join(', ')}${provided.length ? ` (${provided.join(', ')} come with the lab)` : ''}
  ${MOUNTED.runTests}       grades the files in ${MOUNTED.labDir}/ with the lab's tests
  ${MOUNTED.serve}           runs your cluster on real ports (${lab.cluster.entry} on port 3000)
  ${MOUNTED.kit}, ${MOUNTED.sqlWasm}, ${MOUNTED.bundle}, package.json
                        the course's kit, SQLite and this lab's tests: leave them as they are

Grade your files (Node 20 or later, nothing to install), in this folder:

  node ${MOUNTED.runTests}
  node ${MOUNTED.runTests} --steps ${lab.steps[0]!.id}        only some steps (ids: ${lab.steps.map((s) => s.id).join(', ')})
  node ${MOUNTED.runTests} --json

The exit code is 0 only when every step passed. Run your cluster with \`node ${MOUNTED.serve}\`
(--port N to move it); Ctrl+C stops it.

In a clone of the course, the same grading: npm run lab -- ${labTopic(bundle)} --files ${bundle.name}/${MOUNTED.labDir}

To take your edits back to the page: open the lab, press "Upload files" and choose this folder's
zip or the files in ${MOUNTED.labDir}/.
`;
}

/**
 * The zip of a lab: `<lab>/` holding what WebContainer mounts (the solution left out of lab.json:
 * nothing run here reads it) and README.txt.
 */
export function packLab(assets: WebContainerAssets, bundle: LabBundle, files: Record<string, string>): Uint8Array {
  const withoutSolution: LabBundle = { ...bundle, solution: {} };
  const entries: Zippable = {};
  for (const [path, contents] of Object.entries(mountedFiles(assets, withoutSolution, files))) {
    entries[`${bundle.name}/${path}`] = typeof contents === 'string' ? strToU8(contents) : contents;
  }
  entries[`${bundle.name}/${README_FILE}`] = strToU8(readmeText(bundle));
  return zipSync(entries, { level: 6 });
}

/** One file the reader chose: its name as the browser gives it (no folder), its size, and its bytes (left unread, empty, when over MAX_UPLOAD_BYTES). */
export interface Upload {
  name: string;
  size: number;
  bytes: Uint8Array;
}

export interface UploadRead {
  /** The editable files found, by path, as text. */
  files: Record<string, string>;
  /** Why nothing may be taken: when there is any, the page changes nothing. */
  problems: string[];
  /** What was found but is not taken, one sentence each (files of the zip that are not the reader's to edit). */
  skipped: string[];
}

const kb = (bytes: number) => `${Math.ceil(bytes / 1000).toLocaleString('en')} KB`;
const isZip = (upload: Upload) => upload.bytes.length >= 4 && upload.bytes[0] === 0x50 && upload.bytes[1] === 0x4b && upload.bytes[2] === 0x03 && upload.bytes[3] === 0x04;
/** Files every downloaded folder holds beside lab/, and what operating systems add to a zip. */
const isLayoutFile = (path: string) => {
  const name = path.split('/').pop()!;
  return [MOUNTED.runTests, MOUNTED.serve, MOUNTED.kit, MOUNTED.sqlWasm, MOUNTED.bundle, 'package.json', README_FILE, '.DS_Store'].includes(name) || path.split('/').includes('__MACOSX');
};

function decode(bytes: Uint8Array, shown: string, problems: string[]): string | undefined {
  if (bytes.length > MAX_FILE_BYTES) {
    problems.push(`${shown} is ${kb(bytes.length)}, more than a lab file can be (${kb(MAX_FILE_BYTES)}).`);
    return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    problems.push(`${shown} is not a text file (it is not UTF-8).`);
    return undefined;
  }
}

/**
 * Reads what the reader chose against the lab's files. A zip is matched by path (`…/lab/balancer.ts`
 * or `…/balancer.ts`); a single file by its name. Names the lab does not have, read-only files with
 * changes, copies of one file, files too large or not text are reported in plain words.
 */
export function readUpload(bundle: LabBundle, uploads: readonly Upload[]): UploadRead {
  const { editable } = bundle.lab;
  const labFiles = Object.keys(bundle.starter).sort();
  const provided = labFiles.filter((f) => !editable.includes(f));
  const problems: string[] = [];
  const skipped: string[] = [];
  /** Every candidate per lab file, with where it came from. */
  const found = new Map<string, { shown: string; bytes: Uint8Array; upload: number; inLabDir: boolean }[]>();
  let upload = -1;
  const add = (file: string, shown: string, bytes: Uint8Array, inLabDir: boolean) => found.set(file, [...(found.get(file) ?? []), { shown, bytes, upload, inLabDir }]);
  const ignored: string[] = [];

  for (const chosen of uploads) {
    upload++;
    if (chosen.size > MAX_UPLOAD_BYTES) {
      problems.push(`${chosen.name} is ${kb(chosen.size)}; a lab's files fit in far less (at most ${kb(MAX_UPLOAD_BYTES)}).`);
      continue;
    }
    if (!isZip(chosen)) {
      if (/\.zip$/i.test(chosen.name)) {
        problems.push(`${chosen.name} is not a zip file this page can read.`);
        continue;
      }
      const matches = labFiles.filter((f) => f === chosen.name || f.endsWith(`/${chosen.name}`));
      if (matches.length === 1) add(matches[0]!, chosen.name, chosen.bytes, true);
      else if (matches.length > 1) problems.push(`${chosen.name} could be ${matches.join(' or ')}: upload the lab's zip instead, which says which.`);
      else problems.push(`${chosen.name} is not a file of this lab (its files: ${editable.join(', ')}).`);
      continue;
    }
    let entries: Record<string, Uint8Array>;
    const tooLarge: string[] = [];
    try {
      // Only the entries that can be lab files are inflated, and none larger than a lab file may be.
      entries = unzipSync(chosen.bytes, {
        filter: (entry) => {
          const path = entry.name.replace(/\\/g, '/');
          if (path.endsWith('/') || isLayoutFile(path)) return false;
          if (entry.originalSize > MAX_FILE_BYTES) {
            tooLarge.push(`${chosen.name}: ${path} is ${kb(entry.originalSize)}, more than a lab file can be (${kb(MAX_FILE_BYTES)}).`);
            return false;
          }
          return true;
        },
      });
    } catch (err) {
      problems.push(`${chosen.name} is not a zip file this page can read (${(err as Error).message}).`);
      continue;
    }
    problems.push(...tooLarge);
    for (const [name, bytes] of Object.entries(entries)) {
      const path = name.replace(/\\/g, '/').replace(/^\.?\//, '');
      const shown = `${chosen.name}: ${path}`;
      const parts = path.split('/');
      const file = parts.includes('..') ? undefined : labFiles.find((f) => path === f || path.endsWith(`/${f}`));
      if (file) add(file, shown, bytes, path === `${MOUNTED.labDir}/${file}` || path.endsWith(`/${MOUNTED.labDir}/${file}`));
      else ignored.push(path);
    }
  }
  if (ignored.length) skipped.push(`Not files of this lab, so left out: ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ` and ${ignored.length - 5} more` : ''}.`);

  const files: Record<string, string> = {};
  for (const [file, all] of found) {
    // A downloaded zip holds each file once, under lab/; copies elsewhere in the same zip (a backup folder) lose to it.
    const preferred = all.filter((c) => c.inLabDir || !all.some((o) => o.upload === c.upload && o.inLabDir));
    if (preferred.length > 1) {
      problems.push(`${file} was chosen ${preferred.length} times (${preferred.map((c) => c.shown).join(', ')}): keep one.`);
      continue;
    }
    const { shown, bytes } = preferred[0]!;
    const text = decode(bytes, shown, problems);
    if (text === undefined) continue;
    if (provided.includes(file)) {
      if (text !== bundle.starter[file]) skipped.push(`${file} comes with the lab and cannot be changed here, so your version of it was left out.`);
      continue;
    }
    files[file] = text;
  }
  if (problems.length === 0 && Object.keys(files).length === 0) {
    problems.push(`None of this lab's files were found in what you chose (looked for ${editable.join(', ')}).`);
  }
  return { files, problems, skipped };
}

export interface FileChange {
  file: string;
  /** Lines only in the reader's current file, and only in the uploaded one. */
  removed: number;
  added: number;
}

/** How many lines a file loses and gains from `before` to `after` (a line diff on the differing middle). */
export function lineChanges(before: string, after: string): { removed: number; added: number } {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  // Longest common subsequence of the middles; past a few million cells, count the whole middles.
  if (x.length * y.length > 4_000_000) return { removed: x.length, added: y.length };
  let prev = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const row = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) row[j] = x[i - 1] === y[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    prev = row;
  }
  const common = prev[y.length]!;
  return { removed: x.length - common, added: y.length - common };
}

/** The files an upload would change, in the lab's tab order; unchanged ones left out. */
export function uploadChanges(bundle: LabBundle, current: Record<string, string>, incoming: Record<string, string>): FileChange[] {
  return bundle.lab.editable
    .filter((file) => incoming[file] !== undefined && incoming[file] !== current[file])
    .map((file) => ({ file, ...lineChanges(current[file] ?? '', incoming[file]!) }));
}

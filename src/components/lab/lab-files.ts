/**
 * "Download files" and "Upload files" in the opened lab. Loaded on the first click, so the zip
 * library costs the lab's opening nothing. Download zips the reader's current files with what grades
 * them in Node (lab-archive.ts); upload reads edited files back, says what is wrong in plain words,
 * and changes nothing until the reader has seen what will change and agreed.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { archiveName, labTopic, MAX_UPLOAD_BYTES, packLab, readUpload, uploadChanges, type Upload } from '../../lab-runtime/lab-archive.ts';
import { loadMountAssets } from '../../lab-runtime/webcontainer/tree.ts';
import { h } from './dom.ts';

/** What the lab view lends this module. */
export interface LabFilesHost {
  bundle: LabBundle;
  /** The site's lab-assets folder, e.g. "/lab-assets/". */
  assetsBase: string;
  /** Every file of the lab as the editor has it now. */
  files(): Record<string, string>;
  /** Replaces editable files in the editor, which saves them as any edit is saved. */
  apply(files: Record<string, string>): void;
  /** Where messages and the upload review go. */
  notices: HTMLElement;
  showDiff(title: string, original: string, modified: string): void;
  announce(text: string): void;
}

const code = (text: string) => h('code', {}, text);

type Kind = 'notice' | 'alert' | 'question';

/** A message in the notices, replacing the previous message of the same kind; a question brings its own buttons. */
function say(host: LabFilesHost, testid: string, kind: Kind, ...content: (Node | string)[]): HTMLElement {
  host.notices.querySelector(`[data-testid="${testid}"]`)?.remove();
  const box = h('div', { class: kind === 'alert' ? 'lab-error' : 'lab-notice', 'data-testid': testid, ...(kind === 'alert' ? { role: 'alert' } : {}) }, ...content);
  if (kind !== 'question') box.append(h('button', { type: 'button', class: 'lab-small', onclick: () => box.remove() }, 'Close'));
  host.notices.append(box);
  return box;
}

export async function downloadLab(host: LabFilesHost): Promise<void> {
  const { bundle } = host;
  const assets = await loadMountAssets(async (path) => {
    const response = await fetch(`${host.assetsBase}${path}`, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`${path} could not be loaded (HTTP ${response.status}). Reload the page to try again.`);
    return response;
  });
  const zip = packLab(assets, bundle, host.files());
  const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const link = h('a', { href: url, download: archiveName(bundle), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  say(
    host,
    'lab-download-done',
    'notice',
    h(
      'p',
      {},
      `Downloaded ${archiveName(bundle)}. Unzip it, then in its ${bundle.name} folder run `,
      code('node run-tests.mjs'),
      ' to grade your files with Node alone (Node 20 or later, nothing to install); its README.txt says more. In a clone of the course: ',
      code(`npm run lab -- ${labTopic(bundle)} --files ${bundle.name}/lab`),
      '. Upload files brings your edits back.',
    ),
  );
  host.announce(`Downloaded ${archiveName(bundle)}.`);
}

/** The chosen files' bytes; one too large to be a lab's is not read at all (readUpload refuses it by its size). */
async function readChosen(chosen: readonly File[]): Promise<Upload[]> {
  return Promise.all(chosen.map(async (file) => ({ name: file.name, size: file.size, bytes: file.size > MAX_UPLOAD_BYTES ? new Uint8Array() : new Uint8Array(await file.arrayBuffer()) })));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Reads the chosen files and shows what they would change, with Replace and Cancel; refuses with reasons. */
export async function uploadLab(host: LabFilesHost, chosen: readonly File[]): Promise<void> {
  const { bundle } = host;
  host.notices.querySelector('[data-testid="lab-upload-review"]')?.remove();
  const read = readUpload(bundle, await readChosen(chosen));
  const skipped = read.skipped.map((s) => h('li', {}, s));
  if (read.problems.length) {
    say(host, 'lab-upload-problem', 'alert', h('p', {}, 'Nothing was changed: '), h('ul', {}, ...read.problems.map((p) => h('li', {}, p)), ...skipped));
    host.announce(`Upload refused: ${read.problems.join(' ')}`);
    return;
  }
  host.notices.querySelector('[data-testid="lab-upload-problem"]')?.remove();
  const current = host.files();
  const changes = uploadChanges(bundle, current, read.files);
  if (changes.length === 0) {
    say(host, 'lab-upload-review', 'notice', h('p', {}, 'Nothing to change: the files you chose are the same as yours.'), ...(skipped.length ? [h('ul', {}, ...skipped)] : []));
    host.announce('Nothing to change: the files you chose are the same as yours.');
    return;
  }
  const replace = h('button', { type: 'button', class: 'lab-primary lab-small', 'data-testid': 'lab-upload-apply' }, `Replace ${plural(changes.length, 'file')}`);
  const cancel = h('button', { type: 'button', class: 'lab-small' }, 'Cancel');
  const review = say(
    host,
    'lab-upload-review',
    'question',
    h('p', {}, `The files you chose would replace ${changes.length === 1 ? 'this file' : 'these files'} of yours (Undo in the editor brings yours back):`),
    h(
      'ul',
      {},
      ...changes.map((c) =>
        h(
          'li',
          { 'data-file': c.file },
          `${c.file}: ${plural(c.removed, 'line')} removed, ${plural(c.added, 'line')} added `,
          h('button', { type: 'button', class: 'lab-small', onclick: () => host.showDiff(`Your ${c.file} (left) and the uploaded one (right).`, current[c.file] ?? '', read.files[c.file]!) }, 'Show changes'),
        ),
      ),
      ...skipped,
    ),
    h('div', { class: 'lab-diff-actions' }, replace, cancel),
  );
  cancel.addEventListener('click', () => {
    review.remove();
    host.announce('Upload cancelled: nothing was changed.');
  });
  replace.addEventListener('click', () => {
    review.remove();
    host.apply(Object.fromEntries(changes.map((c) => [c.file, read.files[c.file]!])));
    host.announce(`Replaced ${changes.map((c) => c.file).join(', ')} with the uploaded ${changes.length === 1 ? 'file' : 'files'}.`);
  });
  replace.focus();
}

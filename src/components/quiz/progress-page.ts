/**
 * The Progress page: fills the course table from stored progress, keeps the reader's name, and
 * exports / imports progress and lab edits as one JSON file (merged by timestamp on import).
 */
import { buildExport, exportFileName, importExport, parseExport } from '../../storage/transfer.ts';
import { BASE, CHANGED, browserStorage, changed, courseInfo, progressStore } from './client.ts';
import { renderProgressTable } from './progress-table.ts';

const info = courseInfo();
const root = document.querySelector<HTMLElement>('[data-progress-page]')!;
const storage = browserStorage();
const names = Object.fromEntries((info?.chapters ?? []).map((c) => [c.id, c.title]));

function render(): void {
  if (!info) return;
  const progress = progressStore().load();
  const count = renderProgressTable(root, info, progress);
  root.querySelector('[data-summary]')!.textContent = `${count.done} of ${info.chapters.length} chapters done, ${count['in-progress']} in progress.`;
  const name = root.querySelector<HTMLInputElement>('[data-reader]')!;
  if (document.activeElement !== name) name.value = progress.reader ?? '';
}

function report(kind: 'status' | 'alert', title: string, sections: [string, string[]][] = []): void {
  const out = root.querySelector<HTMLElement>('[data-report]')!;
  out.replaceChildren();
  out.dataset.kind = kind;
  const box = document.createElement('div');
  if (kind === 'alert') box.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = title;
  box.append(p);
  for (const [heading, items] of sections) {
    if (!items.length) continue;
    const h = document.createElement('p');
    h.textContent = heading;
    const ul = document.createElement('ul');
    for (const item of items) ul.appendChild(document.createElement('li')).textContent = item;
    box.append(h, ul);
  }
  out.append(box);
}

root.querySelector<HTMLInputElement>('[data-reader]')!.addEventListener('change', (e) => {
  progressStore().setReader((e.target as HTMLInputElement).value);
});

root.querySelector('[data-testid="progress-export"]')!.addEventListener('click', () => {
  const file = buildExport(storage, BASE);
  const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = exportFileName(file);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  const labs = Object.keys(file.labEdits).length;
  report('status', `Exported ${a.download}: your progress${labs ? ` and your edits in ${labs} lab${labs > 1 ? 's' : ''}` : ''}.`);
});

root.querySelector<HTMLInputElement>('[data-testid="progress-import"]')!.addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (!file) return;
  try {
    const parsed = parseExport(await file.text(), (info?.chapters ?? []).filter((c) => c.steps.length > 0).map((c) => c.id));
    const result = importExport(storage, BASE, parsed, names);
    const from = `${file.name}${parsed.reader ? ` (${parsed.reader}, ${new Date(parsed.exportedAt).toLocaleString()})` : ''}`;
    report(
      'status',
      result.merged.length ? `Imported ${from}.` : `Imported ${from}: nothing in it was newer than what this browser has.`,
      [
        ['Merged from the file:', result.merged],
        ['Newer or better work in this browser, kept:', result.kept],
      ],
    );
    changed();
  } catch (err) {
    report('alert', `${file.name} was not imported: ${(err as Error).message}. Nothing was changed.`);
  }
  input.value = '';
});

render();
addEventListener(CHANGED, render);
addEventListener('storage', render);
root.querySelector<HTMLElement>('[data-js]')!.hidden = false;

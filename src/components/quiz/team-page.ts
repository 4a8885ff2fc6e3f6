/**
 * The Team page: a team lead drops several readers' export files (file input or drag and drop) and
 * gets a reader × chapter table they can sort and download as CSV. Files are read in the browser;
 * nothing is stored or sent anywhere.
 */
import { chapterRank, parseExport, teamCsv, teamRow, type TeamRow } from '../../storage/transfer.ts';
import { courseInfo } from './client.ts';

const info = courseInfo()!;
const root = document.querySelector<HTMLElement>('[data-team-page]')!;
const table = root.querySelector<HTMLTableElement>('[data-testid="team-table"]')!;
const status = root.querySelector<HTMLElement>('[data-team-status]')!;
const drop = root.querySelector<HTMLElement>('[data-drop]')!;
const rows = new Map<string, TeamRow>();
/** Sorted by column (-1: reader, n: chapter n, chapters.length: chapters done), ascending or not. */
let sort = { column: -1, ascending: true };

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text = '', attrs: Record<string, string> = {}) => {
  const e = document.createElement(tag);
  e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};
const pct = (score: number, total: number) => `${Math.round((score / total) * 100)} %`;

function sortValue(row: TeamRow): string | number {
  if (sort.column < 0) return row.reader.toLowerCase();
  if (sort.column >= info.chapters.length) return row.done;
  return chapterRank(row.chapters[sort.column]!);
}

function sortedRows(): TeamRow[] {
  return [...rows.values()].sort((a, b) => {
    const x = sortValue(a);
    const y = sortValue(b);
    const d = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
    return (sort.ascending ? d : -d) || a.reader.localeCompare(b.reader);
  });
}

function render(): void {
  const columns = ['Reader', ...info.chapters.map((c) => c.title), 'Chapters done'];
  const head = el('tr');
  columns.forEach((label, i) => {
    const column = i === 0 ? -1 : i - 1;
    const th = el('th', '', { scope: 'col' });
    if (sort.column === column) th.setAttribute('aria-sort', sort.ascending ? 'ascending' : 'descending');
    const button = el('button', label, { type: 'button', 'data-column': String(column) });
    button.append(el('span', sort.column === column ? (sort.ascending ? ' ▲' : ' ▼') : '', { 'aria-hidden': 'true' }));
    button.onclick = () => {
      sort = { column, ascending: sort.column === column ? !sort.ascending : column < 0 };
      render();
      table.querySelector<HTMLElement>(`[data-column="${column}"]`)?.focus();
    };
    th.append(button);
    head.append(th);
  });
  const body = el('tbody');
  for (const row of sortedRows()) {
    const tr = el('tr', '', { 'data-testid': 'team-row' });
    const th = el('th', row.reader, { scope: 'row' });
    th.append(el('small', `exported ${new Date(row.exportedAt).toLocaleDateString()}`));
    tr.append(th);
    row.chapters.forEach((s) => {
      const parts = [s.read ? 'read' : 'not read'];
      if (s.stepsTotal) parts.push(`lab ${s.stepsPassed} of ${s.stepsTotal}`);
      parts.push(s.quiz ? `quiz ${s.quiz.score} of ${s.quiz.total} (${pct(s.quiz.score, s.quiz.total)})` : 'no quiz score');
      const td = el('td', '', { 'data-state': s.state });
      td.append(el('strong', s.state === 'done' ? 'Done' : s.state === 'in-progress' ? 'In progress' : 'Not started'), el('small', parts.join(', ')));
      tr.append(td);
    });
    tr.append(el('td', `${row.done} of ${info.chapters.length}`));
    body.append(tr);
  }
  table.querySelector('thead')!.replaceChildren(head);
  table.querySelector('tbody')!.replaceWith(body);
  table.hidden = rows.size === 0;
  root.querySelector<HTMLButtonElement>('[data-testid="team-csv"]')!.disabled = rows.size === 0;
}

async function load(files: Iterable<File>): Promise<void> {
  const lines: string[] = [];
  let ok = 0;
  for (const file of files) {
    try {
      const parsed = parseExport(await file.text());
      const row = teamRow(parsed, file.name, info);
      const key = row.reader.toLowerCase();
      const before = rows.get(key);
      if (before && Date.parse(before.exportedAt) > Date.parse(row.exportedAt)) {
        lines.push(`${file.name}: an older export of ${row.reader} than the one already loaded, skipped.`);
        continue;
      }
      if (before) lines.push(`${file.name}: replaces the older export of ${row.reader} (${before.file}).`);
      rows.set(key, row);
      ok++;
    } catch (err) {
      lines.push(`${file.name} was not loaded: ${(err as Error).message}.`);
    }
  }
  status.replaceChildren(el('p', `${ok} file${ok === 1 ? '' : 's'} loaded; ${rows.size} reader${rows.size === 1 ? '' : 's'} in the table.`));
  if (lines.length) {
    const ul = el('ul');
    for (const line of lines) ul.append(el('li', line));
    status.append(ul);
  }
  render();
}

const input = root.querySelector<HTMLInputElement>('[data-testid="team-import"]')!;
input.addEventListener('change', async () => {
  await load(input.files ?? []);
  input.value = '';
});
// Files dropped anywhere on the page are loaded (and never opened by the browser in place of the page).
addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.dataset.over = '';
});
addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) delete drop.dataset.over;
});
addEventListener('drop', (e) => {
  e.preventDefault();
  delete drop.dataset.over;
  if (e.dataTransfer?.files.length) void load(e.dataTransfer.files);
});
root.querySelector('[data-testid="team-csv"]')!.addEventListener('click', () => {
  const csv = teamCsv(sortedRows(), info);
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const a = el('a', '', { href: url, download: `scale-lab-team-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});
root.querySelector('[data-clear]')!.addEventListener('click', () => {
  rows.clear();
  status.replaceChildren(el('p', 'The table is empty.'));
  render();
});
root.querySelector<HTMLElement>('[data-js]')!.hidden = false;
render();

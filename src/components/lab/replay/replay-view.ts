/**
 * "What happened" in a failed test: the sequence diagram of its messages over cluster time, a
 * slider (and the keyboard) to move through it, the cluster picture at that instant, the evidence
 * its assertion named, and the same replay as an ordered list of messages in words. It can be saved
 * to a file and opened again. Loaded only when a reader asks for a replay.
 */
import type { LabBundle } from '../../../../labs/harness/bundle.ts';
import { h } from '../dom.ts';
import { ClusterPicture } from '../picture/cluster-picture.ts';
import { readReplayFile, replayFileName, replayFileText, REPLAY_FORMAT, REPLAY_VERSION, type ReplayFile } from './replay-file.ts';
import { GEOMETRY, SequenceDiagram } from './sequence-diagram.ts';
import { frameAt, lifelines, rowsOf, rowText, timeText, type Row } from './timeline.ts';
// As text, put in the page when the view first opens: a CSS module imported here would be
// inlined into every page of the site by the build.
import pictureCss from '../picture/picture.css?inline';
import replayCss from './replay.css?inline';

/** How long each row shows while the replay plays by itself. */
const PLAY_STEP_MS = 500;

export { readReplayFile };

export interface ReplayViewOptions {
  /** Where the view goes; emptied and shown. */
  host: HTMLElement;
  bundle: LabBundle;
  file: ReplayFile;
  /** The view was closed (focus goes back where the reader came from). */
  onClose: () => void;
}

/** A failed test's replay, as a file: what the reader saw and what was recorded. */
export function replayFile(bundle: LabBundle, step: { id: string; title: string }, message: string, replay: ReplayFile['replay']): ReplayFile {
  return { format: REPLAY_FORMAT, version: REPLAY_VERSION, lab: bundle.name, step, message, replay };
}

function addStyles(): void {
  if (document.getElementById('scale-lab-replay-css')) return;
  // The picture's rules may already be in the page (the playground's stylesheet): the same rules twice change nothing.
  document.head.append(h('style', { id: 'scale-lab-replay-css' }, pictureCss, replayCss));
}

const reducedMotion = () => globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches === true;

export class ReplayView {
  readonly element: HTMLElement;
  readonly #o: ReplayViewOptions;
  readonly #heading: HTMLElement;
  readonly #stage = h('div', { class: 'rp-stage' });
  #play: ReturnType<typeof setInterval> | undefined;
  #stopPlaying: () => void = () => {};

  constructor(options: ReplayViewOptions) {
    this.#o = options;
    addStyles();
    const { file } = options;
    const { replay } = file;
    const labels = replay.evidence.map((e) => e.label);
    this.#heading = h('h4', { tabindex: '-1', id: 'replay-heading' }, `What happened: ${replay.test}`);
    const evidence = replay.evidence.length
      ? h(
          'div',
          { class: 'rp-evidence-list', 'data-testid': 'replay-evidence' },
          h('p', {}, 'What the failed assertion counted or checked, marked ◆ in the diagram and “Evidence” in the list:'),
          h('ol', {}, ...replay.evidence.map((e, i) => h('li', { 'data-evidence': String(i) }, `◆ ${i + 1}: ${e.label} — ${e.matched === 0 ? 'none among the recorded messages' : `${e.matched} ${e.matched === 1 ? 'message' : 'messages'}`}`))),
        )
      : h('p', { class: 'rp-evidence-list' }, 'This test names no evidence, so no message is marked.');
    const save = h('button', { type: 'button', class: 'lab-small', 'data-testid': 'replay-save', onclick: () => this.#save() }, 'Save this replay');
    const close = h('button', { type: 'button', class: 'lab-small', 'data-testid': 'replay-close', onclick: () => this.close() }, 'Close');
    this.element = h(
      'section',
      { class: 'rp not-content', 'aria-labelledby': 'replay-heading', 'data-testid': 'replay' },
      this.#heading,
      h('p', { class: 'rp-step' }, `Step “${file.step.title}”. The test said:`),
      h('pre', { class: 'lab-failure-message' }, file.message),
      evidence,
      replay.omitted ? h('p', { class: 'rp-omitted', 'data-testid': 'replay-omitted' }, replay.omitted) : null,
      this.#stage,
      h('div', { class: 'rp-actions' }, save, close),
    );
    if (replay.clusters.length > 1) {
      const select = h('select', { 'data-testid': 'replay-cluster', id: 'replay-cluster' }, ...replay.clusters.map((c, i) => h('option', { value: String(i) }, `Cluster ${i + 1} (seed ${c.seed})`)));
      select.addEventListener('change', () => this.#show(Number(select.value), labels));
      this.#stage.before(h('p', {}, h('label', { for: 'replay-cluster' }, 'This test made several clusters: '), select));
    }
    if (replay.clusters.length) this.#show(0, labels);
    options.host.replaceChildren(this.element);
    options.host.hidden = false;
  }

  /** Draws cluster `index` of the replay: controls, picture, diagram and list. */
  #show(index: number, labels: string[]): void {
    this.#stopPlaying();
    const cluster = this.#o.file.replay.clusters[index]!;
    const rows = rowsOf(cluster);
    if (rows.length === 0) {
      this.#stage.replaceChildren(h('p', {}, 'This cluster recorded no messages.'));
      return;
    }
    const diagram = new SequenceDiagram(lifelines(cluster, this.#o.bundle.lab.cluster.entry), rows, labels);
    const picture = new ClusterPicture(this.#o.bundle.lab.cluster.entry, 'The cluster at the selected moment; the list of messages says the same in words');
    const slider = h('input', { type: 'range', min: '0', max: String(rows.length - 1), step: '1', value: '0', id: 'replay-position', 'data-testid': 'replay-slider' });
    const where = h('output', { for: 'replay-position', class: 'rp-where', 'data-testid': 'replay-where' });
    const list = h('ol', { class: 'rp-list', tabindex: '0', 'aria-label': 'The replay in words, one message per item; use the arrow keys to move', 'data-testid': 'replay-list' });
    const items = rows.map((row, i) => {
      const item = h('li', { 'data-row': String(i), ...(row.evidence.length ? { 'data-evidence': row.evidence.join(' ') } : {}) }, rowText(row, labels));
      item.addEventListener('click', () => go(i));
      return item;
    });
    list.append(...items);
    // Focusable, so that a keyboard can scroll a diagram taller than its box.
    const scroller = h('div', { class: 'rp-scroll', tabindex: '0', role: 'group', 'aria-label': 'Sequence diagram, scrollable', 'data-testid': 'replay-scroll' }, diagram.element);
    const evidenceRows = rows.flatMap((r, i) => (r.evidence.length ? [i] : []));
    const prev = h('button', { type: 'button', class: 'lab-small', 'data-testid': 'replay-prev-evidence', disabled: evidenceRows.length === 0 }, '◆ Previous evidence');
    const next = h('button', { type: 'button', class: 'lab-small', 'data-testid': 'replay-next-evidence', disabled: evidenceRows.length === 0 }, '◆ Next evidence');
    const play = h('button', { type: 'button', class: 'lab-small', 'data-testid': 'replay-play', 'aria-pressed': 'false' }, 'Play');
    let current = -1;
    let lastFrame = '';

    const go = (i: number) => {
      const row = Math.max(0, Math.min(rows.length - 1, i));
      if (row === current) return;
      current = row;
      slider.value = String(row);
      const text = rowText(rows[row]!, labels);
      slider.setAttribute('aria-valuetext', `${row + 1} of ${rows.length}: ${text}`);
      where.textContent = `At ${timeText(rows[row]!.at)}, row ${row + 1} of ${rows.length}`;
      // The diagram is drawn to fit the box's width, so its rows are scaled with it.
      const y = diagram.select(row) * diagram.scale();
      const behavior = reducedMotion() ? 'auto' : 'smooth';
      if (y < scroller.scrollTop + GEOMETRY.head || y + GEOMETRY.row > scroller.scrollTop + scroller.clientHeight) scroller.scrollTo({ top: Math.max(0, y - scroller.clientHeight / 2), behavior });
      for (const item of list.querySelectorAll('[aria-current]')) item.removeAttribute('aria-current');
      items[row]!.setAttribute('aria-current', 'step');
      if (list.contains(document.activeElement) || document.activeElement === list) items[row]!.scrollIntoView({ block: 'nearest', behavior });
      const frame = frameAt(cluster, rows, row);
      const key = JSON.stringify(frame);
      if (key !== lastFrame) {
        lastFrame = key;
        picture.draw(frame);
      }
    };
    const jump = (direction: 1 | -1) => {
      const target = direction === 1 ? evidenceRows.find((r) => r > current) : [...evidenceRows].reverse().find((r) => r < current);
      if (target !== undefined) go(target);
    };
    this.#stopPlaying = () => {
      clearInterval(this.#play);
      this.#play = undefined;
      play.textContent = 'Play';
      play.setAttribute('aria-pressed', 'false');
    };
    play.addEventListener('click', () => {
      if (this.#play !== undefined) return this.#stopPlaying();
      if (current >= rows.length - 1) go(0);
      play.textContent = 'Pause';
      play.setAttribute('aria-pressed', 'true');
      this.#play = setInterval(() => (current >= rows.length - 1 ? this.#stopPlaying() : go(current + 1)), PLAY_STEP_MS);
    });
    prev.addEventListener('click', () => jump(-1));
    next.addEventListener('click', () => jump(1));
    slider.addEventListener('input', () => go(Number(slider.value)));
    list.addEventListener('keydown', (event) => {
      const moves: Record<string, number> = { ArrowDown: current + 1, ArrowUp: current - 1, Home: 0, End: rows.length - 1, PageDown: current + 10, PageUp: current - 10 };
      const target = moves[event.key];
      if (target === undefined) return;
      event.preventDefault();
      go(target);
    });

    this.#stage.replaceChildren(
      h('div', { class: 'rp-controls' }, h('label', { for: 'replay-position' }, 'Move through the replay'), slider, where, prev, next, play),
      h('div', { class: 'rp-views' }, h('figure', { class: 'rp-figure' }, scroller, h('figcaption', {}, 'Messages between the nodes over cluster time, top to bottom. ◆ and a thicker line mark evidence; a dashed line a failed call.')), h('figure', { class: 'rp-figure rp-picture' }, picture.element, h('figcaption', {}, 'The cluster at the selected moment: calls of the last second of cluster time.'))),
      h('details', { class: 'rp-text', open: true }, h('summary', {}, 'The replay in words'), list),
    );
    go(evidenceRows[0] ?? 0);
  }

  #save(): void {
    const blob = new Blob([replayFileText(this.#o.file)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: replayFileName(this.#o.file) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  /** Moves focus to the view's heading, so a screen reader starts at its top. */
  focus(): void {
    this.#heading.focus();
  }

  close(): void {
    this.#stopPlaying();
    this.#o.host.hidden = true;
    this.#o.host.replaceChildren();
    this.#o.onClose();
  }
}

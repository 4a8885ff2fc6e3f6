/**
 * The sequence (Lamport) diagram of a replay in SVG: a lifeline per client and node, time running
 * down, one row per message, state change or log line (a repeated stretch drawn once, with how many
 * times; a cut drawn as a band that says what was left out). Evidence is drawn thicker, with a
 * diamond and the word "evidence" beside it, never by colour alone. The current row has a band.
 */
import type { ReplayEntry } from '../../../../labs/harness/results.ts';
import { entryText, timeText, type Row } from './timeline.ts';

const SVG = 'http://www.w3.org/2000/svg';
export const GEOMETRY = { gutter: 64, column: 96, row: 24, head: 30, note: 120 } as const;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const shortText = (text: string, max = 22) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** How a node's own mark is drawn: a state change, a `ctx.log` line, a note (a cache's answer). */
const MARK_CLASS = { state: 'rp-state', log: 'rp-log', note: 'rp-event' } as const;

export class SequenceDiagram {
  readonly element: SVGSVGElement;
  readonly #rows: SVGGElement[] = [];
  readonly #cursor: SVGRectElement;
  readonly #columns = new Map<string, number>();
  #current = -1;
  readonly #width: number;

  constructor(lines: string[], rows: Row[], labels: string[]) {
    lines.forEach((name, i) => this.#columns.set(name, GEOMETRY.gutter + GEOMETRY.column * i + GEOMETRY.column / 2));
    const width = GEOMETRY.gutter + GEOMETRY.column * lines.length + GEOMETRY.note;
    const height = GEOMETRY.head + GEOMETRY.row * rows.length + 12;
    // As wide as its box, down to three quarters of its size; narrower boxes scroll across.
    this.#width = width;
    this.element = svg('svg', { class: 'rp-diagram', style: `min-width: ${Math.round(width * 0.75)}px`, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Sequence diagram of the messages between the nodes; the list below says the same in words', 'data-testid': 'replay-diagram' });
    const defs = svg('defs');
    for (const [id, cls] of [['rp-head', 'rp-arrow'], ['rp-head-ev', 'rp-arrow rp-arrow-ev']] as const) {
      const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 9, markerHeight: 9, orient: 'auto-start-reverse' });
      marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: cls }));
      defs.append(marker);
    }
    this.#cursor = svg('rect', { class: 'rp-cursor', x: 0, y: 0, width, height: GEOMETRY.row, visibility: 'hidden' });
    const heads = svg('g', { class: 'rp-heads' });
    for (const [name, x] of this.#columns) {
      heads.append(svg('line', { class: 'rp-lifeline', x1: x, x2: x, y1: GEOMETRY.head - 6, y2: height }), svg('text', { class: 'rp-head', x, y: 18, 'text-anchor': 'middle' }, shortText(name, 14)));
    }
    const body = svg('g');
    rows.forEach((row, i) => {
      const g = this.#row(row, i, labels, width);
      this.#rows.push(g);
      body.append(g);
    });
    this.element.append(defs, this.#cursor, heads, body);
  }

  #x(name: string): number {
    return this.#columns.get(name) ?? GEOMETRY.gutter;
  }

  #row(row: Row, i: number, labels: string[], width: number): SVGGElement {
    const y = GEOMETRY.head + i * GEOMETRY.row;
    const mid = y + GEOMETRY.row / 2;
    const evidence = row.evidence.length > 0;
    const g = svg('g', { class: evidence ? 'rp-row rp-evidence' : 'rp-row', 'data-row': i, ...(evidence ? { 'data-evidence': row.evidence.join(' ') } : {}) });
    g.append(svg('text', { class: 'rp-time', x: 4, y: mid + 4 }, timeText(row.at)));
    const notes: string[] = [];
    if (row.kind === 'cut') {
      g.append(svg('rect', { class: 'rp-cut', x: GEOMETRY.gutter - 4, y: y + 3, width: width - GEOMETRY.gutter, height: GEOMETRY.row - 6 }));
      g.append(svg('text', { class: 'rp-cut-text', x: GEOMETRY.gutter + 4, y: mid + 4 }, `… ${row.dropped.toLocaleString('en')} messages left out (${timeText(row.from)} to ${timeText(row.to)})`));
      g.append(svg('title', {}, `${row.dropped.toLocaleString('en')} messages left out to keep the replay small: ${row.summary.map((s) => `${s.what} × ${s.count}`).join(', ')}`));
      return g;
    }
    const parts = row.entries.length;
    row.entries.forEach((e, k) => this.#entry(g, e, y + ((k + 0.5) * GEOMETRY.row) / parts, evidence && 'evidence' in e && e.evidence !== undefined));
    if (row.times > 1) notes.push(`× ${row.times}`);
    if (evidence) notes.push(`◆ evidence ${row.evidence.map((k) => k + 1).join(', ')}`);
    const right = GEOMETRY.gutter + GEOMETRY.column * this.#columns.size;
    if (notes.length) g.append(svg('text', { class: evidence ? 'rp-note rp-note-ev' : 'rp-note', x: right + 4, y: mid + 4 }, notes.join('  ')));
    const said = row.entries.map(entryText).join('; then ');
    g.append(svg('title', {}, `${timeText(row.at)}: ${row.times > 1 ? `${row.times} times: ` : ''}${said}${evidence ? `. Evidence: ${row.evidence.map((k) => labels[k]).join('; ')}` : ''}`));
    return g;
  }

  #entry(g: SVGGElement, e: ReplayEntry, y: number, evidence: boolean): void {
    if (e.kind === 'state' || e.kind === 'log' || e.kind === 'note') {
      const x = this.#x(e.node);
      const text = e.kind === 'state' ? `${e.state === 'killed' ? '✕' : '●'} ${e.state}` : e.kind === 'log' ? `“${shortText(e.text, 26)}”` : shortText(e.text, 30);
      g.append(svg('rect', { class: `${MARK_CLASS[e.kind]}${evidence ? ' rp-mark-ev' : ''}`, x: x - 6, y: y - 6, width: 12, height: 12, rx: e.kind === 'state' ? 6 : 2 }));
      g.append(svg('text', { class: 'rp-label', x: x + 9, y: y + 4 }, text));
      if (evidence) g.append(svg('path', { class: 'rp-diamond', d: `M ${x} ${y - 12} l 6 6 l -6 6 l -6 -6 z` }));
      return;
    }
    const x1 = this.#x(e.from);
    const x2 = this.#x(e.to);
    const failed = e.kind === 'call' && (e.failure !== undefined || (e.status ?? 0) >= 500);
    const open = e.kind === 'call' && e.unanswered === true;
    const cls = ['rp-msg', e.kind === 'op' ? 'rp-op' : 'rp-call', failed ? 'rp-failed' : '', open ? 'rp-open' : '', evidence ? 'rp-msg-ev' : ''].filter(Boolean).join(' ');
    g.append(svg('line', { class: cls, x1, x2: x2 === x1 ? x1 + 1 : x2, y1: y, y2: y, 'marker-end': `url(#${evidence ? 'rp-head-ev' : 'rp-head'})` }));
    const result = e.kind === 'call' ? (e.status !== undefined ? ` ${e.status}` : open ? ' … no answer' : ' ✕ failed') : '';
    const label = `${shortText(e.what)}${result}`;
    g.append(svg('text', { class: 'rp-label', x: Math.min(x1, x2) + 6, y: y - 3 }, label));
    if (evidence) g.append(svg('path', { class: 'rp-diamond', d: `M ${x2} ${y - 6} l 6 6 l -6 6 l -6 -6 z` }));
  }

  /** Drawn size over natural size (1 before it is laid out). */
  scale(): number {
    const drawn = this.element.getBoundingClientRect().width;
    return drawn > 0 ? drawn / this.#width : 1;
  }

  /** Marks row `i` as the current one; returns its y, to scroll it into view. */
  select(i: number): number {
    if (i === this.#current) return GEOMETRY.head + i * GEOMETRY.row;
    this.#rows[this.#current]?.removeAttribute('aria-current');
    this.#current = i;
    this.#rows[i]?.setAttribute('aria-current', 'true');
    const y = GEOMETRY.head + i * GEOMETRY.row;
    this.#cursor.setAttribute('y', String(y));
    this.#cursor.setAttribute('visibility', 'visible');
    return y;
  }
}

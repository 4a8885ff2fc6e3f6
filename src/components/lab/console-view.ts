/**
 * The lab's console pane. Lines arrive one by one (up to 1,000 a graded run, unbounded from a running
 * cluster); the page is changed at most once per frame, with the lines of that frame grouped into one
 * element per stream, and keeps the last MAX_LINES, saying how many earlier ones it dropped.
 */
import type { OutputLine } from '../../../labs/harness/results.ts';
import { h } from './dom.ts';

/** Lines the pane keeps; older ones go (a graded run prints at most 1,000, a cluster may print forever). */
export const MAX_LINES = 2_000;

export class ConsoleView {
  readonly #pre: HTMLElement;
  #pending: OutputLine[] = [];
  #frame: number | undefined;
  /** Each element shown, with how many lines it holds, oldest first. */
  #shown: { el: HTMLElement; lines: number }[] = [];
  #total = 0;
  #dropped = 0;
  readonly #droppedNote = h('span', { class: 'lab-output-dropped' });

  constructor(pre: HTMLElement) {
    this.#pre = pre;
  }

  push(line: OutputLine): void {
    this.#pending.push(line);
    this.#frame ??= requestAnimationFrame(() => this.flush());
  }

  /** Shows what is pending now (also called when a run ends, so its last lines are there with its results). */
  flush(): void {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = 0; i < lines.length; ) {
      const stream = lines[i]!.stream;
      let j = i;
      let text = '';
      while (j < lines.length && lines[j]!.stream === stream) text += `${lines[j++]!.text}\n`;
      const el = h('span', { class: stream === 'error' ? 'lab-output-error' : '' }, text);
      fragment.append(el);
      this.#shown.push({ el, lines: j - i });
      this.#total += j - i;
      i = j;
    }
    while (this.#total > MAX_LINES && this.#shown.length > 1) {
      const oldest = this.#shown.shift()!;
      oldest.el.remove();
      this.#total -= oldest.lines;
      this.#dropped += oldest.lines;
    }
    if (this.#dropped > 0) {
      this.#droppedNote.textContent = `… ${this.#dropped.toLocaleString('en')} earlier lines not shown\n`;
      this.#pre.prepend(this.#droppedNote);
    }
    this.#pre.append(fragment);
  }

  clear(): void {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
    this.#pending = [];
    this.#shown = [];
    this.#total = 0;
    this.#dropped = 0;
    this.#pre.replaceChildren();
  }
}

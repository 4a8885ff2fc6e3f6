/**
 * Says state changes to screen readers (app-2 is down, app-2 is up again), at most once every
 * ANNOUNCE_EVERY_MS: changes that come sooner are gathered into the next announcement.
 */
import type { NodeFigures } from '../../../lab-runtime/playground/protocol.ts';
import { h } from '../dom.ts';
import { stateWords } from './figures-text.ts';

export const ANNOUNCE_EVERY_MS = 2000;

export class Announcer {
  readonly element = h('p', { class: 'sr-only', 'aria-live': 'polite', 'data-testid': 'picture-announce' });
  readonly #known = new Map<string, string>();
  #queued: { key: string; text: string }[] = [];
  #last = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Compares with the states last seen and queues what changed. */
  see(nodes: NodeFigures[]): void {
    for (const n of nodes) {
      const words = stateWords(n);
      const before = this.#known.get(n.name);
      this.#known.set(n.name, words);
      if (before !== undefined && before !== words) this.say(`${n.name} is ${words}.`, n.name);
    }
  }

  /** Queues `text`; a later text with the same `key` replaces it (only the latest state of a node is said). */
  say(text: string, key = text): void {
    this.#queued = [...this.#queued.filter((q) => q.key !== key), { key, text }];
    if (this.#timer) return;
    const wait = Math.max(0, this.#last + ANNOUNCE_EVERY_MS - performance.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    this.#last = performance.now();
    this.element.textContent = this.#queued.map((q) => q.text).join(' ');
    this.#queued = [];
  }

  reset(): void {
    this.#known.clear();
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}

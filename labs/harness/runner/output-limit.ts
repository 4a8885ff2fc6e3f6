/**
 * Console output of a graded run, bounded and batched: a reader's code that prints in a loop must
 * neither flood the host's channel nor freeze the page that shows it. Lines are handed on in batches
 * (at most one batch per `intervalMs`), long lines are cut, and past `maxLines` lines only a count
 * is kept: "… 9,000 more lines".
 */
import type { OutputLine } from '../results.ts';

export interface OutputLimits {
  /** Lines shown per run; the rest are counted (default 1,000). */
  maxLines: number;
  /** Characters kept of one line (default 2,000). */
  maxLineLength: number;
  /** Batches go out at most this often (default 50 ms). */
  intervalMs: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxLines: 1000, maxLineLength: 2000, intervalMs: 50 };

const nf = new Intl.NumberFormat('en');

/** Cuts a text to `max` characters, saying how many were left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)} … (${nf.format(text.length - max)} more characters)`;
}

export function moreLines(count: number): string {
  return `… ${nf.format(count)} more line${count === 1 ? '' : 's'} not shown`;
}

export class OutputLimiter {
  readonly #limits: OutputLimits;
  readonly #send: (lines: OutputLine[]) => void;
  #pending: OutputLine[] = [];
  #shown = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(send: (lines: OutputLine[]) => void, limits: Partial<OutputLimits> = {}) {
    this.#send = send;
    this.#limits = { ...DEFAULT_OUTPUT_LIMITS, ...limits };
  }

  /** One console call's text, which may hold several lines. */
  write(stream: OutputLine['stream'], text: string): void {
    for (const line of text.split('\n')) {
      if (this.#shown >= this.#limits.maxLines) {
        this.#dropped++;
        continue;
      }
      this.#shown++;
      this.#pending.push({ stream, text: clip(line, this.#limits.maxLineLength) });
    }
    // The host's own timer, not the cluster's: output is about wall time.
    if (this.#pending.length > 0 && this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#limits.intervalMs);
  }

  /** Sends what is pending now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#send(batch);
  }

  /** Sends what is pending, then the count of lines left out; the limiter starts over. */
  end(): void {
    if (this.#dropped > 0) this.#pending.push({ stream: 'log', text: moreLines(this.#dropped) });
    this.flush();
    this.#shown = 0;
    this.#dropped = 0;
  }
}

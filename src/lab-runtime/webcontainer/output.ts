/**
 * Reads what `run-tests.mjs` and `serve.mjs` print through the WebContainer's terminal: output comes
 * in arbitrary chunks, with `\r\n` line ends and possibly colour codes, stdout and stderr merged.
 */
import type { FileOutcome } from '../../../labs/harness/results.ts';
import type { OutputLine } from '../../../labs/harness/results.ts';
import { ALIVE_LINE, ERROR_PREFIX, FILE_PREFIX } from '../../../labs/harness/protocol.ts';

// CSI sequences (colours, cursor moves) and OSC sequences (window titles).
// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()][0-9A-Za-z]|\u001b[=>]/g;

export function stripTerminalCodes(text: string): string {
  return text.replace(TERMINAL_CODES, '');
}

/** Splits a stream of chunks into whole lines; `flush` hands over a last line without a line end. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let buffered = '';
  const emit = (raw: string) => onLine(stripTerminalCodes(raw).replace(/\r+$/, ''));
  return {
    push(chunk) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        emit(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    },
    flush() {
      if (buffered) emit(buffered);
      buffered = '';
    },
  };
}

export type ParsedLine =
  /** `before`: text of a console line that had not ended when the outcome was printed. */
  | { kind: 'file'; outcome: FileOutcome; before?: string }
  | { kind: 'output'; line: OutputLine }
  /** A heartbeat, or an empty line. */
  | { kind: 'none' };

function isOutcome(value: unknown): value is FileOutcome {
  const v = value as FileOutcome;
  return typeof v === 'object' && v !== null && typeof v.file === 'string' && Array.isArray(v.tests);
}

/**
 * One line of `run-tests.mjs`: a test file's outcome (only with this run's `token`, see CHANNEL_ENV),
 * or a console line of the reader's code.
 */
export function parseLine(line: string, token: string): ParsedLine {
  const at = line.indexOf(FILE_PREFIX);
  const mark = `${FILE_PREFIX}${token ? `${token} ` : ''}`;
  if (at >= 0 && line.startsWith(mark, at)) {
    try {
      const outcome: unknown = JSON.parse(line.slice(at + mark.length));
      if (isOutcome(outcome)) return at > 0 ? { kind: 'file', outcome, before: line.slice(0, at) } : { kind: 'file', outcome };
    } catch {
      // Not an outcome after all (e.g. the reader printed the marker): plain output.
    }
  }
  if (line === ALIVE_LINE || line.trim() === '') return { kind: 'none' };
  if (line.startsWith(ERROR_PREFIX)) return { kind: 'output', line: { stream: 'error', text: line.slice(ERROR_PREFIX.length) } };
  return { kind: 'output', line: { stream: 'log', text: line } };
}

/** What readers read when a run cannot give verdicts: the same words on every runtime. */

/** What the reader reads when a run made no progress for `seconds`. */
export function stalledMessage(seconds: number): string {
  return `Your code did not finish: the tests were stopped after ${seconds} s without any progress. Look for a loop that never ends (while (true) …), fix it and run again. Your edits are safe.`;
}

export const CRASHED_MESSAGE =
  'The tests stopped because the test runner crashed, most likely out of memory: look for code that keeps adding to a list or a map without end, fix it and run again. Your edits are safe.';
export const BOOT_FAILED_MESSAGE =
  'The test runner could not start in this browser tab. Reload the page and run again; your edits are safe.';
export const ABORTED_MESSAGE = 'The run was cancelled.';
/** The message of a step whose test file the Worker never reported (should not happen). */
export const NOT_RUN_MESSAGE = 'The tests of this step did not run. Run them again; if it keeps happening, reload the page.';

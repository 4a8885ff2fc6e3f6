/** What readers read when a run cannot give verdicts: the same words on every runtime. */

/**
 * What the reader reads when their code stops answering, on every host: a run silent for `seconds`
 * (a synchronous loop) or over its time limit (a loop that yields, a wait that never ends).
 */
export function stalledMessage(seconds: number): string {
  return `Your code did not finish: the tests were stopped after ${seconds} s. Look for a loop that never ends (while (true) …) or a wait on something that never comes, fix it and run again. Your edits are safe.`;
}

/** V8's words when a heap limit is reached, as a Node host prints them before it dies. */
export const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/;

/** What the reader reads when their code used more memory than the run may: `mb` where the host knows its limit. */
export function memoryMessage(mb?: number): string {
  return `Your code used ${mb === undefined ? 'too much memory' : `more than ${mb} MB of memory`}, so the tests were stopped: look for code that keeps adding to a list or a map without end, fix it and run again. Your edits are safe.`;
}

export const CRASHED_MESSAGE =
  'The tests stopped because the test runner crashed, most likely out of memory: look for code that keeps adding to a list or a map without end, fix it and run again. Your edits are safe.';
export const BOOT_FAILED_MESSAGE =
  'The test runner could not start in this browser tab. Reload the page and run again; your edits are safe.';
export const ABORTED_MESSAGE = 'The run was cancelled.';
/** The message of a step whose test file the Worker never reported (should not happen). */
export const NOT_RUN_MESSAGE = 'The tests of this step did not run. Run them again; if it keeps happening, reload the page.';


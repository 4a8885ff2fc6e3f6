/**
 * What readers read when the playground is stopped: the same causes as a graded run's (messages.ts),
 * but the reader starts the playground again rather than running tests. A file of its own so that
 * the playground's chunk carries these and a lab page's runtime chunk does not.
 */
export const PLAYGROUND_STALLED_MESSAGE =
  'Your code kept the cluster busy and time could not move on, so the playground was stopped. Look for a loop that never ends in a handler, fix it and start again. Your edits are safe.';
export const PLAYGROUND_MEMORY_MESSAGE =
  'Your code used too much memory, so the playground was stopped. Look for code that keeps adding to a list or a map without end, fix it and start again. Your edits are safe.';
export const PLAYGROUND_CRASHED_MESSAGE =
  'The playground stopped: its Worker crashed, most likely out of memory. Look for code that keeps adding to a list or a map without end, fix it and start again. Your edits are safe.';

/**
 * The child process of `npm run lab` (scripts/lab-runner/run-node.ts): takes one ChildRunRequest
 * over IPC, runs it with runGraded, and sends the outcomes and the console output back over IPC,
 * each message with the request's token. It runs the reader's code, so the parent bounds its heap
 * and its time and ends its process group on every exit path.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChildMessage, ChildRunRequest } from '../protocol.ts';
import { runGraded } from '../runner/index.ts';
import { keepRunningOnStrayErrors, sqlWasmFromBytes } from './node-host.ts';

if (!process.send) {
  process.stderr.write('grade-child.ts runs under npm run lab, which starts it with an IPC channel.\n');
  process.exit(2);
}
// Kept here before any reader code runs.
const channel = process.send.bind(process);

/** Sends a message; resolves once it is handed to the channel. */
function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => channel(message, undefined, undefined, () => resolve()));
}

keepRunningOnStrayErrors();

process.once('message', async (request: ChildRunRequest) => {
  const { token } = request;
  try {
    await runGraded({
      kitCode: request.kitCode,
      tests: request.tests,
      files: request.files,
      editable: request.editable,
      testFiles: request.testFiles,
      configureKit: sqlWasmFromBytes(readFileSync(request.wasmPath), (file) => `${dirname(request.wasmPath)}/${file}`),
      onOutput: (lines) => void send({ token, type: 'output', lines }),
      onFileDone: (outcome) => void send({ token, type: 'file', outcome }),
    });
    await send({ token, type: 'done' });
  } catch (err) {
    await send({ token, type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  // Whatever timers the reader's code left behind.
  process.exit(0);
});

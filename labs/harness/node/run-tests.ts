/**
 * run-tests.mjs — `node run-tests.mjs [--steps id1,id2] [--json]`, in the lab's folder of the
 * WebContainer, or of a lab downloaded from the page (the same layout): runs the lab's graded tests
 * (lab.json) against the reader's files (lab/) with the same runner as the browser Worker.
 * - Started by the WebContainer runtime (TAGGED_ENV set): prints one line per test file as soon as it
 *   ends, `@@scale-lab-file <token> <FileOutcome JSON>` (protocol.ts), between the console lines,
 *   writes the failed tests' replays to a file beside itself, and exits 0 whatever the verdicts.
 * - Run by hand: prints the verdict as `npm run lab` does (or its `--json` line) and exits 0 only
 *   when every step passed.
 * Exits 2 when it could not run (bad arguments, missing files).
 */
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LabBundle } from '../bundle.ts';
import { NOT_RUN_MESSAGE } from '../messages.ts';
import { jsonSummary, reportText } from '../report.ts';
import { stepResults, type FileOutcome, type OutputLine } from '../results.ts';
import { runGraded } from '../runner/index.ts';
import { keepRunningOnStrayErrors, sqlWasmFromBytes } from './node-host.ts';
import { ALIVE_LINE, CHANNEL_ENV, ERROR_PREFIX, HEARTBEAT_MS, MOUNTED, outcomeLine, replaysFile, TAGGED_ENV } from '../protocol.ts';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const here = fileURLToPath(new URL('.', import.meta.url));
const tagged = process.env[TAGGED_ENV] === '1';
// Out of reach of the reader's code before any of it loads.
const token = process.env[CHANNEL_ENV] ?? '';
delete process.env[CHANNEL_ENV];

const { values } = (() => {
  try {
    return parseArgs({ options: { steps: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    return fail(`${(err as Error).message}\nUsage: node run-tests.mjs [--steps id1,id2] [--json]`);
  }
})();

const read = (file: string) => {
  const path = join(here, file);
  if (!existsSync(path)) fail(`run-tests: ${file} is missing beside run-tests.mjs.`);
  return readFileSync(path);
};

const bundle = JSON.parse(read(MOUNTED.bundle).toString('utf8')) as LabBundle;
const wanted = values.steps?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = (wanted ?? []).filter((id) => !bundle.lab.steps.some((s) => s.id === id));
if (unknown.length) fail(`No step ${unknown.join(', ')} in ${bundle.name}. Steps: ${bundle.lab.steps.map((s) => s.id).join(', ')}`);
const steps = bundle.lab.steps.filter((s) => !wanted || wanted.includes(s.id));

// Every file of the lab as it is now in lab/ (the reader's edits); a file missing there is the starter's.
const files = Object.fromEntries(
  Object.keys(bundle.starter).map((file) => {
    const path = join(here, MOUNTED.labDir, file);
    return [file, existsSync(path) ? readFileSync(path, 'utf8') : bundle.starter[file]!];
  }),
);
const kitCode = read(MOUNTED.kit).toString('utf8');
const configureKit = sqlWasmFromBytes(read(MOUNTED.sqlWasm), (file) => join(here, file));

const out = (line: string) => process.stdout.write(`${line}\n`);
function log({ stream, text }: OutputLine): void {
  if (stream === 'log') out(text);
  else if (tagged) out(`${ERROR_PREFIX}${text}`);
  else process.stderr.write(`${text}\n`);
}

keepRunningOnStrayErrors();
// Node 20 warns once more than 10 listeners wait on one AbortSignal; the kit's calls of one run all do, by design.
setMaxListeners(0);

const heartbeat = tagged ? setInterval(() => out(ALIVE_LINE), HEARTBEAT_MS) : undefined;
if (!tagged && !values.json) out(`${bundle.lab.title}: grading the files in ${MOUNTED.labDir}/`);
let outcomes: FileOutcome[];
try {
  outcomes = await runGraded({
    kitCode,
    tests: bundle.tests,
    files,
    editable: bundle.lab.editable,
    testFiles: steps.map((s) => s.test),
    configureKit,
    onFileDone: (outcome) => {
      if (tagged) out(outcomeLine(outcome, token));
    },
    onOutput: (lines) => lines.forEach(log),
    ...(tagged ? { onTestDone: () => out(ALIVE_LINE) } : {}),
  });
} catch (err) {
  clearInterval(heartbeat);
  process.stderr.write(`run-tests: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
clearInterval(heartbeat);
if (tagged) {
  const replays = outcomes.filter((o) => o.replays?.length).map((o) => ({ file: o.file, replays: o.replays }));
  if (replays.length > 0) writeFileSync(join(here, replaysFile(token)), JSON.stringify(replays));
}
let code = 0;
if (!tagged) {
  const result = stepResults(bundle.name, steps, outcomes, NOT_RUN_MESSAGE);
  out(values.json ? jsonSummary(result) : reportText(bundle.lab, result));
  code = result.steps.every((s) => s.passed) ? 0 : 1;
}
// Exit once stdout has been written out (a pipe drains asynchronously), even if the reader's code left timers.
process.stdout.write('', () => process.exit(code));

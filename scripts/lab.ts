/**
 * npm run lab -- <topic> [--starter | --solution | --files DIR] [--step ID] [--json] [--timeout S] [--serve [--redis URL]]
 *
 * Runs a lab's graded tests against your own copy of its editable files (made from the starter in
 * my-labs/<lab>/ on first use), the starter, the solution, or the files in DIR. Exit code 0 only when
 * every step passed. The reader's code runs in a child process with a time and a heap limit (see
 * lab-runner/run-node.ts). --serve starts the lab's cluster on real ports instead, in a child process
 * too, so Ctrl+C stops it even when that code loops; with --redis URL its key-value stores are a real Redis.
 */
import { cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { filesFrom, findLab, ROOT, solutionFiles, starterFiles, type LabFolder } from './lab-runner/catalog.ts';
import { MAX_TIMEOUT_MS, runLabInNode, stopRunsOnInterrupt } from './lab-runner/run-node.ts';
import { serveInChild } from './lab-runner/serve-node.ts';
import { jsonSummary, reportText } from '../labs/harness/report.ts';

const USAGE = `Usage: npm run lab -- <topic> [--starter | --solution | --files DIR] [--step ID] [--json] [--timeout SECONDS] [--serve]
  <topic>       a lab, e.g. clones or 01-clones
  (no source)   your own copy in my-labs/<lab>/, made from the starter the first time
  --starter     the starter files          --solution   the solution
  --files DIR   editable files taken from DIR
  --step ID     only this step (repeatable)
  --json        print { lab, steps: [{ id, passed }] } as the last line
  --timeout S   stop the run after S seconds (default 60, at most 3600)
  --serve       start the lab's cluster on real ports (Ctrl+C to stop)
  --redis URL   with --serve: ctx.kv on the real Redis at URL, e.g. redis://127.0.0.1:6379`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        starter: { type: 'boolean' },
        solution: { type: 'boolean' },
        files: { type: 'string' },
        step: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        serve: { type: 'boolean' },
        redis: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${USAGE}`);
  }
})();

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (positionals.length !== 1) fail(USAGE);
if ([values.starter, values.solution, values.files !== undefined].filter(Boolean).length > 1) fail('Choose one of --starter, --solution and --files.');
if (values.redis !== undefined && !values.serve) fail('--redis goes with --serve: it puts the served cluster\'s key-value store on a real Redis.');

let lab: LabFolder;
try {
  lab = findLab(positionals[0]!);
} catch (err) {
  fail((err as Error).message);
}

/** The lab's files under test (editable and provided), and how to describe them. */
function source(): { files: Record<string, string>; label: string } {
  if (values.starter) return { files: starterFiles(lab), label: 'the starter' };
  if (values.solution) return { files: solutionFiles(lab), label: 'the solution' };
  if (values.files !== undefined) {
    const dir = resolve(values.files);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`--files ${values.files}: no such folder.`);
    return { files: readFrom(dir), label: relative(process.cwd(), dir) || '.' };
  }
  const mine = join(ROOT, 'my-labs', lab.name);
  if (!existsSync(mine)) {
    mkdirSync(mine, { recursive: true });
    for (const f of lab.lab.editable) cpSync(join(lab.dir, 'starter', f), join(mine, f));
    if (!values.json) process.stdout.write(`Made your copy of ${lab.name} from the starter. Edit these files:\n${lab.lab.editable.map((f) => `  ${relative(process.cwd(), join(mine, f))}`).join('\n')}\n\n`);
  } else if (!values.json) {
    process.stdout.write(`Testing your files in ${relative(process.cwd(), mine)}/ (${lab.lab.editable.join(', ')})\n\n`);
  }
  return { files: readFrom(mine), label: relative(process.cwd(), mine) };
}

function readFrom(dir: string): Record<string, string> {
  try {
    return filesFrom(lab, dir);
  } catch (err) {
    return fail((err as Error).message);
  }
}

const { files, label } = source();

if (values.serve) {
  process.stdout.write(`${lab.lab.title} (${label}):\n`);
  const code = await serveInChild(lab, files, Number(process.env.PORT ?? 8080), values.redis);
  process.exit(code);
} else {
  const timeoutS = Number(values.timeout ?? 60);
  if (!(timeoutS >= 1 && timeoutS * 1000 <= MAX_TIMEOUT_MS)) fail(`--timeout takes a number of seconds from 1 to ${MAX_TIMEOUT_MS / 1000}, got ${values.timeout}.`);
  const unknown = (values.step ?? []).filter((id) => !lab.lab.steps.some((s) => s.id === id));
  if (unknown.length) fail(`No step ${unknown.join(', ')} in ${lab.name}. Steps: ${lab.lab.steps.map((s) => s.id).join(', ')}`);

  stopRunsOnInterrupt();
  if (!values.json) process.stdout.write(`${lab.lab.title}: grading ${label}\n`);
  const result = await runLabInNode(lab, files, {
    timeoutMs: timeoutS * 1000,
    steps: values.step,
    onOutput: values.json ? undefined : (line) => (line.stream === 'error' ? process.stderr : process.stdout).write(`  │ ${line.text}\n`),
  });

  process.stdout.write(values.json ? `${jsonSummary(result)}\n` : reportText(lab.lab, result));
  process.exit(result.steps.every((s) => s.passed) ? 0 : 1);
}

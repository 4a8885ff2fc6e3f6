/**
 * Runs a lab's graded tests in Node, in a child process with a time limit, so that a reader's
 * `while (true) {}` ends with a message rather than a hung terminal.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stepResults, type FileOutcome, type LabResult } from '../../labs/harness/results.ts';
import { ROOT, type LabFolder } from './catalog.ts';
import { RESULT_PREFIX } from './reporter.ts';

export interface NodeRunOptions {
  /** Stop the whole run after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Only these step ids (default: every step). */
  steps?: string[];
  /** Called with each line the tests print that is not a result (console.log of the reader's code). */
  onOutput?: (line: string) => void;
}

export function stoppedMessage(seconds: number): string {
  return `Stopped after ${seconds} s without finishing: does your code loop forever (e.g. while (true) {}), or wait on something that never comes? Fix it and run again.`;
}

export async function runLabInNode(lab: LabFolder, filesDir: string, options: NodeRunOptions = {}): Promise<LabResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const steps = lab.lab.steps.filter((s) => !options.steps || options.steps.includes(s.id));
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--config', join(ROOT, 'scripts/lab-runner/vitest.lab.config.ts')], {
    cwd: ROOT,
    // Its own process group, so the test workers it forks can be stopped with it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SCALE_LAB_DIR: lab.dir,
      SCALE_LAB_FILES: filesDir,
      SCALE_LAB_TESTS: JSON.stringify(steps.map((s) => s.test)),
      SCALE_LAB_EDITABLE: JSON.stringify(lab.lab.editable),
      FORCE_COLOR: '0',
    },
  });

  const files: FileOutcome[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith(RESULT_PREFIX)) files.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as FileOutcome);
      else if (line.trim()) options.onOutput?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, timeoutMs);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearTimeout(timer);

  const missing = timedOut
    ? stoppedMessage(Math.round(timeoutMs / 1000))
    : `The tests did not run (vitest exited with code ${code}).${stderr.trim() ? `\n${stderr.trim().split('\n').slice(-15).join('\n')}` : ''}`;
  return stepResults(lab.name, steps, files, missing);
}

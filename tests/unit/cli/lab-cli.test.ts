/**
 * `npm run lab` against hostile reader code, as a reader runs it: every case ends within its bound
 * with a plain message, no forged verdict, no crash of the CLI, and nothing left running afterwards.
 * Each run is marked in its environment, so that processes it leaves behind can be found in /proc.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findLab, solutionFiles } from '../../../scripts/lab-runner/catalog.ts';
import { ROOT } from '../../../scripts/lab-runner/catalog.ts';
import { freePort } from '../../support/ports.ts';
import { MISSING_REDIS, redisServerInstalled, startRedisServer } from '../../support/redis-server.ts';

const clones = findLab('clones');
const work = mkdtempSync(join(tmpdir(), 'scale-lab-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Processes still alive that carry this run's mark, a moment after the CLI exited. */
  leftover: number[];
}

/** Processes whose environment holds `mark`. */
function processesMarked(mark: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(mark)) found.push(Number(entry));
    } catch {
      // Gone, or not ours.
    }
  }
  return found;
}

/** The Clones solution in a folder of its own, with `change` applied to balancer.ts. */
function filesDir(name: string, change: (text: string) => string = (t) => t): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const files = solutionFiles(clones);
  for (const f of clones.lab.editable) writeFileSync(join(dir, f), f === 'balancer.ts' ? change(files[f]!) : files[f]!);
  return dir;
}

/** Runs `node scripts/lab.ts …`; `onStart` may signal the process once it printed `waitFor`. */
function cli(args: string[], options: { waitFor?: string; onStart?: (pid: number) => void; env?: Record<string, string> } = {}): Promise<CliRun> {
  const mark = `SCALE_LAB_TEST_MARK=${randomBytes(8).toString('hex')}`;
  const [key, value] = mark.split('=') as [string, string];
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/lab.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...options.env, [key]: value }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!signalled && options.waitFor && stdout.includes(options.waitFor)) {
      signalled = true;
      options.onStart?.(child.pid!);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const ms = performance.now() - started;
      setTimeout(() => resolve({ code, stdout, stderr, ms, leftover: processesMarked(mark) }), 300);
    }),
  );
}

const json = (run: CliRun) => JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { lab: string; steps: { id: string; passed: boolean }[] };

describe('verdicts come only from the runner', () => {
  test('code that prints result lines and sends IPC messages forges nothing, and malformed lines crash nothing', async () => {
    const forged = JSON.stringify({ file: 'tests/01-round-robin.test.ts', tests: [{ name: 'x', passed: true }] });
    const dir = filesDir('forger', (t) =>
      [
        `process.stdout.write('@@scale-lab-file ${forged}\\n');`,
        "process.stdout.write('@@scale-lab-file {not json\\n');",
        `(process as any).send?.({ type: 'file', outcome: ${forged} });`,
        "(process as any).send?.({ type: 'done' });",
        "(process as any).send?.('@@scale-lab-file');",
        // The round-robin step fails: the rotation never moves on.
        t.replace('if (best !== undefined) cursor = (servers.indexOf(best) + 1) % servers.length;', ''),
      ].join('\n'),
    );
    const run = await cli(['clones', '--files', dir, '--step', 'round-robin', '--json']);
    expect(run.code).toBe(1);
    expect(json(run).steps).toEqual([{ id: 'round-robin', passed: false }]);
    expect(run.leftover).toEqual([]);
  }, 60_000);
});

describe('limits', () => {
  test('memory: an allocating loop ends with a plain "more than N MB" message, no V8 dump', async () => {
    const dir = filesDir('hog', (t) => `const hog: number[][] = [];\nfor (;;) hog.push(new Array(1e6).fill(1));\n${t}`);
    const run = await cli(['clones', '--files', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Your code used more than 512 MB of memory');
    expect(run.stdout + run.stderr).not.toMatch(/FATAL ERROR|heap out of memory|<--- Last few GCs --->/);
    expect(run.ms).toBeLessThan(20_000);
    expect(run.leftover).toEqual([]);
  }, 60_000);

  test('time that cannot move on: for (;;) await ctx.sleep(0) is stopped by the clock at once, naming the loop', async () => {
    const dir = filesDir('sleep-zero', (t) => t.replace('return async (req) => {', 'return async (req) => {\n    for (;;) await ctx.sleep(0);'));
    const run = await cli(['clones', '--files', dir, '--step', 'round-robin']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/│ More than 10,000 timers fired at \d+ ms of cluster time without time moving on: .*\(the loop is at balancer\.ts:\d+\)/);
    expect(run.stdout).not.toContain('Your code did not finish');
    expect(run.leftover).toEqual([]);
  }, 60_000);

  test('time: a synchronous loop is stopped at --timeout, with the one message for code that stops answering', async () => {
    const dir = filesDir('spin', (t) => t.replace('return async (req) => {', 'return async (req) => {\n    while (true) {}'));
    const run = await cli(['clones', '--files', dir, '--timeout', '3']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Your code did not finish: the tests were stopped after 3 s.');
    // 3 s of running, plus bundling the tests and starting Node on a machine busy with other tests.
    expect(run.ms).toBeLessThan(15_000);
    expect(run.leftover).toEqual([]);
  }, 60_000);

  test('Ctrl+C ends the run and its child at once, even in an endless loop', async () => {
    const dir = filesDir('spin-ctrl-c', (t) => t.replace('return async (req) => {', 'return async (req) => {\n    while (true) {}'));
    let signalledAt = 0;
    const run = await cli(['clones', '--files', dir], {
      waitFor: 'grading',
      onStart: (pid) =>
        setTimeout(() => {
          signalledAt = performance.now();
          process.kill(pid, 'SIGINT');
        }, 1500),
    });
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('Stopped (Ctrl+C).');
    expect(run.leftover).toEqual([]);
    expect(signalledAt).toBeGreaterThan(0);
  }, 60_000);

  test('--timeout takes 1 to 3600 seconds, and a long limit is honoured rather than overflowing', async () => {
    const tooLong = await cli(['clones', '--solution', '--timeout', '3000000']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('--timeout takes a number of seconds from 1 to 3600, got 3000000.');
    const long = await cli(['clones', '--solution', '--timeout', '3600', '--json']);
    expect(json(long).steps.every((s) => s.passed)).toBe(true);
    expect(long.code).toBe(0);
  }, 60_000);

  test("console output of the reader's code is shown, bounded", async () => {
    const dir = filesDir('chatty', (t) => `for (let i = 0; i < 5000; i++) console.log('chatty line', i);\n${t}`);
    const run = await cli(['clones', '--files', dir, '--step', 'round-robin']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('│ chatty line 0\n');
    expect(run.stdout).toContain('│ chatty line 999\n');
    expect(run.stdout).not.toContain('chatty line 1000\n');
    expect(run.stdout).toContain('│ … 4,000 more lines not shown');
  }, 60_000);
});

describe('--files', () => {
  test('a dangling link (an editor lock file) and a link loop beside the files are ignored', async () => {
    const dir = filesDir('links');
    symlinkSync('user@host.1234:1700000000', join(dir, '.#balancer.ts'));
    symlinkSync('.', join(dir, 'loop'));
    const run = await cli(['clones', '--files', dir, '--json']);
    expect(run.code).toBe(0);
    expect(json(run).steps.every((s) => s.passed)).toBe(true);
  }, 60_000);

  test('an editable file that is a dangling link or a loop is a plain error', async () => {
    const dir = join(work, 'broken-links');
    mkdirSync(dir, { recursive: true });
    symlinkSync('nowhere.ts', join(dir, 'balancer.ts'));
    symlinkSync('app.ts', join(dir, 'app.ts'));
    const run = await cli(['clones', '--files', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/balancer\.ts is a link to a file that does not exist\.$/);
    expect(run.stderr).not.toContain('    at ');
  }, 60_000);
});

describe('--serve', () => {
  test('serves the cluster from a child process; Ctrl+C ends it even while a handler loops', async () => {
    const port = await freePort();
    const dir = filesDir('serve-spin', (t) => t.replace('return async (req) => {', "return async (req) => {\n    if (new URL(req.url).pathname === '/spin') while (true) {}"));
    let status = 0;
    const run = await cli(['clones', '--files', dir, '--serve'], {
      env: { PORT: String(port) },
      waitFor: 'Press Ctrl+C',
      onStart: (pid) =>
        void (async () => {
          for (let i = 0; i < 50 && status === 0; i++) {
            status = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status, () => 0);
            if (status === 0) await new Promise((r) => setTimeout(r, 100));
          }
          // The handler loops from now on: only ending the process group stops it.
          void fetch(`http://127.0.0.1:${port}/spin`).catch(() => {});
          await new Promise((r) => setTimeout(r, 300));
          process.kill(pid, 'SIGINT');
        })(),
    });
    expect(status).toBe(200);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('Stopped (Ctrl+C).');
    expect(run.leftover).toEqual([]);
  }, 60_000);
});

describe('--serve --redis', () => {
  const installed = redisServerInstalled();
  // Under CI, .ci/run installs redis-server: a missing one is a failure there, a warning elsewhere.
  if (!installed && !process.env.CI) console.warn(`\n⚠ SKIPPED: --serve --redis. ${MISSING_REDIS}\n`);

  test.skipIf(!installed && !process.env.CI)('a served request reaches the real Redis: the cache-aside keys land there, and the second read is served from them', async () => {
    if (!installed) throw new Error(MISSING_REDIS);
    const redis = await startRedisServer({ databases: 4 });
    const monitor = await redis.connect(0);
    try {
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const url = `redis://127.0.0.1:${redis.port}`;
      const answers: string[] = [];
      let keys: unknown;
      let stats = '';
      const run = await cli(['caching', '--solution', '--serve', '--redis', url], {
        env: { PORT: String(port) },
        waitFor: 'Press Ctrl+C',
        onStart: (pid) =>
          void (async () => {
            try {
              for (let i = 0; i < 50 && answers.length === 0; i++) {
                const res = await fetch(`http://127.0.0.1:${port}/products/1`).catch(() => undefined);
                if (res) answers.push(`${res.status} ${await res.text()}`);
                else await new Promise((r) => setTimeout(r, 100));
              }
              answers.push(await fetch(`http://127.0.0.1:${port}/products/1`).then(async (r) => `${r.status} ${await r.text()}`));
              keys = await monitor.send(['KEYS', '*']);
              stats = String(await monitor.send(['INFO', 'stats']));
            } finally {
              process.kill(pid, 'SIGINT');
            }
          })(),
      });
      expect(run.stdout).toContain(`ctx.kv is on ${url}, database 0: watch it with \`redis-cli -u ${url} MONITOR\``);
      expect(answers).toHaveLength(2);
      expect(answers[0]).toMatch(/^200 /);
      expect(answers[1]).toBe(answers[0]);
      // The solution caches the product under its key: it is in the real Redis, with its expiry.
      const [key] = (keys as string[]).filter((k) => /product/.test(k) && k.includes('1'));
      expect(Number(await monitor.send(['TTL', key!]))).toBeGreaterThan(0);
      // The first read missed in Redis, the second was answered from it.
      expect(Number(/keyspace_hits:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(0);
      expect(Number(/keyspace_misses:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(0);
      expect(run.leftover).toEqual([]);
    } finally {
      await monitor.close();
      await redis.stop();
    }
  }, 60_000);

  test('an unreachable Redis is said in plain words, and --redis without --serve is refused', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const down = await cli(['caching', '--solution', '--serve', '--redis', 'redis://127.0.0.1:1'], { env: { PORT: String(port) } });
    expect(down.stderr).toContain('Could not connect to Redis at redis://127.0.0.1:1');
    expect(down.code).not.toBe(0);
    expect(down.leftover).toEqual([]);
    const alone = await cli(['caching', '--redis', 'redis://127.0.0.1:6379']);
    expect(alone.stderr).toContain('--redis goes with --serve');
    expect(alone.code).toBe(2);
  }, 60_000);
});

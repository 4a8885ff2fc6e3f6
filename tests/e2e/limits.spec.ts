/**
 * Limits that hold against any code a reader writes, in the browser Worker, on the built site's
 * runtime test page: each case ends within its bound with the right message, the page's main thread
 * never blocks for more than 200 ms, and the runtime works again afterwards (nothing left running).
 * The CLI's cases are in tests/unit/cli/lab-cli.test.ts.
 */
import { expect, test, type Page } from '@playwright/test';
import { memoryMessage, stalledMessage } from '../../labs/harness/messages.ts';
import type { LabResult } from '../../labs/harness/results.ts';
import { findLab, solutionFiles } from '../../scripts/lab-runner/catalog.ts';
import { overDevTools } from '../support/devtools.ts';

type RunReply =
  | { ok: true; result: LabResult; ms: number; output: { stream: string; text: string }[] }
  | { ok: false; error: { name: string; message: string; reason?: string }; ms: number; output: { stream: string; text: string }[] };

const clones = findLab('clones');

/** The Clones solution with balancer.ts changed. */
function withBalancer(change: (text: string) => string): Record<string, string> {
  const files = solutionFiles(clones);
  const after = change(files['balancer.ts']!);
  if (after === files['balancer.ts']) throw new Error('the change changed nothing');
  return { ...files, 'balancer.ts': after };
}

const inHandler = (code: string) => (t: string) => t.replace('return async (req) => {', `return async (req) => {\n    ${code}`);

/** Opens the runtime test page and records every main-thread task longer than 50 ms from now on. */
async function openPage(page: Page, query = ''): Promise<void> {
  await page.goto(`e2e/worker-runtime/${query}`);
  await page.waitForFunction(() => '__runLab' in window, undefined, { timeout: 15_000 });
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__longTasks.push(e.duration))).observe({ type: 'longtask' });
  });
}

function run(page: Page, files: Record<string, string>, steps?: string[]): Promise<RunReply> {
  return page.evaluate(
    ([files, steps]) => (window as unknown as { __runLab(l: string, f: object, o: object): Promise<RunReply> }).__runLab('01-clones', files, steps ? { steps } : {}),
    [files, steps] as const,
  );
}

async function longestTask(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, ...(window as unknown as { __longTasks: number[] }).__longTasks));
}

/** The runtime is usable again: the solution passes. */
async function recovers(page: Page): Promise<void> {
  const reply = await run(page, solutionFiles(clones), ['round-robin']);
  expect(reply.ok ? reply.result.steps.map((s) => s.passed) : reply.error, 'the next run passes').toEqual([true]);
}

test('for (;;) await ctx.sleep(0) is stopped at once by the clock, which names the loop', async ({ page }) => {
  await openPage(page);
  const reply = await run(page, withBalancer(inHandler('for (;;) await ctx.sleep(0);')), ['round-robin']);
  expect(reply.ok ? 'finished' : reply.error).toBe('finished');
  if (!reply.ok) return;
  expect(reply.ms).toBeLessThan(5000);
  expect(reply.result.steps[0]!.passed).toBe(false);
  const said = reply.output.filter((l) => l.stream === 'error').map((l) => l.text);
  expect(said.some((text) => /^More than 10,000 timers fired at \d+ ms of cluster time without time moving on: .*\(the loop is at balancer\.ts:\d+\)/.test(text))).toBe(true);
  expect(await longestTask(page)).toBeLessThan(200);
  await recovers(page);
});

test('a loop that yields outside the clock is stopped at the lab’s run limit, naming it, and the Worker is replaced', async ({ page }) => {
  test.setTimeout(90_000);
  await openPage(page);
  const files = withBalancer(inHandler('for (;;) await new Promise((resolve) => { const c = new MessageChannel(); c.port1.onmessage = resolve; c.port2.postMessage(0); });'));
  const reply = await run(page, files, ['round-robin']);
  expect(reply.ok ? 'finished' : reply.error).toMatchObject({ name: 'RuntimeError', reason: 'timeout', message: stalledMessage(15) });
  expect(reply.ms).toBeGreaterThan(14_000);
  expect(reply.ms).toBeLessThan(20_000);
  expect(await longestTask(page)).toBeLessThan(200);
  await recovers(page);
});

test('60,000 console lines reach the page as at most 1,001, in a few batches, and the page never blocks', async ({ page }) => {
  await openPage(page);
  const files = withBalancer((t) => `for (let i = 0; i < 60_000; i++) console.log('flood', i);\n${t}`);
  const reply = await run(page, files, ['round-robin']);
  expect(reply.ok ? 'finished' : reply.error).toBe('finished');
  if (!reply.ok) return;
  expect(reply.result.steps[0]!.passed).toBe(true);
  expect(reply.output.length).toBe(1001);
  expect(reply.output.at(-1)!.text).toBe('… 59,000 more lines not shown');
  expect(await longestTask(page)).toBeLessThan(200);
});

test('a 30 MB error message is cut before it reaches the page', async ({ page }) => {
  await openPage(page);
  const files = withBalancer((t) => `throw new Error('x'.repeat(30_000_000));\n${t}`);
  const reply = await run(page, files, ['round-robin']);
  expect(reply.ok ? 'finished' : reply.error).toBe('finished');
  if (!reply.ok) return;
  const error = reply.result.steps[0]!.error!;
  expect(error.length).toBeLessThan(5000);
  expect(error).toMatch(/^balancer\.ts:1 threw an error while loading, before any test could run: Error: x+ … \(29,99\d,\d{3} more characters\)$/);
  expect(await longestTask(page)).toBeLessThan(200);
  await recovers(page);
});

test('Chromium gives a cross-origin sandboxed frame its own process: a loop in it leaves the page answering', async ({ page }) => {
  // Found before building memory isolation on it: the frame is attached as a target of its own
  // (an out-of-process frame), and the page's main thread answers while the frame spins.
  await openPage(page);
  const cdp = await page.context().newCDPSession(page);
  const frames: string[] = [];
  cdp.on('Target.attachedToTarget', (event) => frames.push(`${event.targetInfo.type} ${event.targetInfo.url}`));
  await cdp.send('Target.setAutoAttach', { autoAttach: true, flatten: true, waitForDebuggerOnStart: false });
  await page.evaluate(() => {
    const frame = document.createElement('iframe');
    frame.sandbox.add('allow-scripts');
    frame.srcdoc = '<script>onmessage = () => { for (;;) {} };</script>';
    Object.assign(window, { __probe: frame });
    document.body.append(frame);
    return new Promise((resolve) => frame.addEventListener('load', resolve));
  });
  await expect.poll(() => frames).toContain('iframe about:srcdoc');
  await page.evaluate(() => (window as unknown as { __probe: HTMLIFrameElement }).__probe.contentWindow!.postMessage('spin', '*'));
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    expect(Date.now() - started).toBeLessThan(1000);
  }
  expect(await longestTask(page)).toBeLessThan(200);
});

test('a cross-origin sandboxed frame that runs out of memory crashes alone: the page stays alive and answering', async ({ page, browser }) => {
  // The question behind memory isolation for readers' code: the frame allocates over 1 GB/s on V8's
  // heap without yielding until V8 gives up. Its renderer crashes, and the tab must live on. (Playwright
  // reports any crashed frame of a page as the page crashing and stops driving it, so the page is
  // asked over a DevTools session of its own, and the browser says which target crashed.)
  test.setTimeout(120_000);
  await openPage(page);
  const browserCdp = await browser.newBrowserCDPSession();
  const crashed: string[] = [];
  const targets = new Map<string, string>();
  const seen = (e: { targetInfo: { targetId: string; type: string; url: string } }) => targets.set(e.targetInfo.targetId, e.targetInfo.type);
  browserCdp.on('Target.targetCreated', seen);
  browserCdp.on('Target.targetInfoChanged', seen);
  browserCdp.on('Target.targetCrashed', (e) => crashed.push(targets.get(e.targetId) ?? e.targetId));
  await browserCdp.send('Target.setDiscoverTargets', { discover: true });
  const pageCdp = await page.context().newCDPSession(page);
  const ask = async <T>(expression: string): Promise<T> => (await pageCdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result.value as T;
  await page.evaluate(() => {
    const frame = document.createElement('iframe');
    frame.sandbox.add('allow-scripts');
    // Plain arrays live on V8's heap, which has a limit; typed arrays would take the machine's memory instead.
    frame.srcdoc = '<script>onmessage = () => { const hoard = []; for (;;) hoard.push(new Array(16 * 1024 * 1024).fill(1.5)); };</script>';
    Object.assign(window, { __probe: frame });
    document.body.append(frame);
    return new Promise((resolve) => frame.addEventListener('load', resolve));
  });
  // The runtime's own frame is there too (worker-frame.ts): both are out-of-process frames.
  await expect.poll(() => [...targets.values()].filter((type) => type === 'iframe').length).toBe(2);
  const started = Date.now();
  await ask("__probe.contentWindow.postMessage('hoard', '*')");
  // The page answers throughout, until the browser reports the frame's renderer crashed.
  let slowest = 0;
  while (crashed.length === 0 && Date.now() - started < 60_000) {
    const before = Date.now();
    await ask('new Promise((resolve) => setTimeout(resolve, 100))');
    slowest = Math.max(slowest, Date.now() - before);
  }
  const after = Date.now() - started;
  const answer = await ask<number>('6 * 7');
  console.log(`after ${after} ms: crashed ${JSON.stringify(crashed)}; the page answers ${answer}; slowest probe ${slowest} ms`);
  // Chromium groups a site's sandboxed frames in one process: the runtime's frame goes down with it.
  expect(crashed.length).toBeGreaterThan(0);
  expect(crashed.every((type) => type === 'iframe')).toBe(true);
  expect(answer).toBe(42);
  expect(slowest).toBeLessThan(1000);
  await pageCdp.detach();
  await browserCdp.detach();
});

/**
 * Code that allocates without end, in the runtime's frame. `memory`: the frame's process runs out of
 * memory while the Worker still speaks, so the run ends with the memory message. `either`: the Worker
 * falls silent first (it never yields, or V8 collects garbage in vain for seconds before giving up),
 * so the stall timeout (4 s) and V8's heap limit (about 4 GB here) race: the run ends with the
 * message of whichever comes first. In every case the tab lives and answers throughout.
 */
const hoarders = [
  // A copy of 1e7 doubles is 80 MB on V8's heap, made at memory speed: over 1 GB/s on a quiet machine
  // (a few hundred MB/s while six test runs share two cores).
  { how: 'copies 80 MB blocks as fast as it can and yields to the clock', code: 'const block = new Array(1e7).fill(1.5); const hoard = []; for (;;) { hoard.push(block.slice()); await ctx.sleep(0); }', ends: 'memory' },
  { how: 'copies 80 MB blocks as fast as it can and never yields', code: 'const block = new Array(1e7).fill(1.5); const hoard = []; for (;;) hoard.push(block.slice());', ends: 'either' },
] as const;

for (const { how, code, ends } of hoarders) {
  test(`code that ${how} ends the run within seconds${ends === 'memory' ? ' with the memory message' : ''}; the tab lives and answers throughout, and the next run works`, async ({ page, browser }) => {
    test.setTimeout(120_000);
    // A run limit of a minute: on a busy machine (CI, shared cores) copying 4 GB can take longer than
    // the lab's 15 s, and this test is about memory.
    await openPage(page, '?runLimitMs=60000');
    const { ask, crashed, targets, close } = await overDevTools(page, browser);
    // The runtime's frame is up: an out-of-process frame of its own.
    await expect.poll(() => [...targets.values()]).toContain('iframe');
    const runnerFrames = `[...document.querySelectorAll('iframe[title="Lab test runner"]')]`;
    await ask(`${runnerFrames}.forEach((frame) => (frame.dataset.before = 'the run'))`);
    const files = withBalancer(inHandler(code));
    const started = Date.now();
    await ask(`(window.__reply = undefined, __runLab('01-clones', ${JSON.stringify(files)}, { steps: ['round-robin'] }).then((r) => (window.__reply = r)), 0)`);
    // The page answers throughout: a probe every 100 ms comes back in time, until the run has ended.
    let slowest = 0;
    let reply: RunReply | undefined;
    while (!reply && Date.now() - started < 70_000) {
      const before = Date.now();
      reply = await ask<RunReply | undefined>('new Promise((resolve) => setTimeout(() => resolve(window.__reply), 100))');
      slowest = Math.max(slowest, Date.now() - before);
    }
    console.log(`${how}: ended after ${Date.now() - started} ms (run ${Math.round(reply?.ms ?? NaN)} ms), ${reply?.ok ? 'finished' : reply?.error.reason}; crashed ${JSON.stringify(crashed)}; slowest probe ${slowest} ms; long tasks ${JSON.stringify(await ask('__longTasks.map(Math.round)'))}`);
    const memory = { name: 'RuntimeError', reason: 'crash', message: memoryMessage() };
    const stalled = { name: 'RuntimeError', reason: 'timeout', message: stalledMessage(4) };
    const error = reply?.ok ? 'finished' : reply?.error;
    if (ends === 'memory') expect(error).toMatchObject(memory);
    else expect([memory, stalled]).toContainEqual(error);
    // A crash the runtime reported is one the browser saw (its event may come a moment later).
    if (reply?.ok === false && reply.error.reason === 'crash') await expect.poll(() => crashed).toEqual(['iframe']);
    else expect(crashed).toEqual([]);
    expect(reply!.ms).toBeLessThan(60_000);
    expect(slowest).toBeLessThan(1000);
    expect(await ask<number>('Math.max(0, ...__longTasks)')).toBeLessThan(200);
    // The next run works (in a fresh frame after a crash).
    const next = await ask<RunReply>(`__runLab('01-clones', ${JSON.stringify(solutionFiles(clones))}, { steps: ['round-robin'] })`);
    expect(next.ok ? next.result.steps.map((s) => s.passed) : next.error, 'the next run passes').toEqual([true]);
    // Crashed or stopped mid-run, the frame is gone with its process and whatever memory it held; the
    // next run had a fresh one.
    expect(await ask<string[]>(`${runnerFrames}.map((frame) => frame.dataset.before ?? 'fresh')`)).toEqual(['fresh']);
    await close();
  });
}

for (const { policy, blocks } of [
  { policy: "script-src 'self'", blocks: "the frame's inline script" },
  { policy: "worker-src 'self'", blocks: "the frame's data: Worker" },
]) {
  test(`where a host's Content-Security-Policy blocks ${blocks}, the tests run in a Worker of the page at once, and the console says so once`, async ({ page }) => {
    await page.route('**/e2e/worker-runtime/', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } });
    });
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await openPage(page);
    const first = await run(page, solutionFiles(clones), ['round-robin']);
    expect(first.ok && first.result.steps.every((s) => s.passed), 'the run passes').toBe(true);
    // The reader waits at most for the frame's short setup timeout, once.
    expect(first.ms).toBeLessThan(5000);
    const again = await run(page, solutionFiles(clones), ['round-robin']);
    expect(again.ok && again.result.steps.every((s) => s.passed)).toBe(true);
    expect(warnings.filter((text) => text.includes('not in an isolated frame'))).toHaveLength(1);
  });
}

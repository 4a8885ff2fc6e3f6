/**
 * Limits that hold against any code a reader writes, in the browser Worker, on the built site's
 * runtime test page: each case ends within its bound with the right message, the page's main thread
 * never blocks for more than 200 ms, and the runtime works again afterwards (nothing left running).
 * The CLI's cases are in tests/unit/cli/lab-cli.test.ts.
 */
import { expect, test, type Page } from '@playwright/test';
import { stalledMessage } from '../../labs/harness/messages.ts';
import type { LabResult } from '../../labs/harness/results.ts';
import { findLab, solutionFiles } from '../../scripts/lab-runner/catalog.ts';

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
async function openPage(page: Page): Promise<void> {
  await page.goto('e2e/worker-runtime/');
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
  expect(reply.ok && reply.result.steps.every((s) => s.passed), 'the next run passes').toBe(true);
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
    document.body.append(frame);
    return new Promise((resolve) => frame.addEventListener('load', resolve));
  });
  await expect.poll(() => frames).toContain('iframe about:srcdoc');
  await page.evaluate(() => document.querySelector('iframe')!.contentWindow!.postMessage('spin', '*'));
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
    document.body.append(frame);
    return new Promise((resolve) => frame.addEventListener('load', resolve));
  });
  await expect.poll(() => [...targets.values()]).toContain('iframe');
  const started = Date.now();
  await ask("document.querySelector('iframe').contentWindow.postMessage('hoard', '*')");
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
  expect(crashed).toEqual(['iframe']);
  expect(answer).toBe(42);
  expect(slowest).toBeLessThan(1000);
  await pageCdp.detach();
  await browserCdp.detach();
});

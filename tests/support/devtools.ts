import type { Browser, Page } from '@playwright/test';

/**
 * The page over a DevTools session of its own: Playwright stops driving a page once any of its
 * frames has crashed, and these tests crash the runtime's frame on purpose. Also says which targets
 * the browser reports crashed.
 */
export async function overDevTools(page: Page, browser: Browser) {
  const browserCdp = await browser.newBrowserCDPSession();
  const crashed: string[] = [];
  const targets = new Map<string, string>();
  const seen = (e: { targetInfo: { targetId: string; type: string } }) => targets.set(e.targetInfo.targetId, e.targetInfo.type);
  browserCdp.on('Target.targetCreated', seen);
  browserCdp.on('Target.targetInfoChanged', seen);
  browserCdp.on('Target.targetCrashed', (e) => crashed.push(targets.get(e.targetId) ?? e.targetId));
  await browserCdp.send('Target.setDiscoverTargets', { discover: true });
  const pageCdp = await page.context().newCDPSession(page);
  const ask = async <T>(expression: string): Promise<T> => {
    const reply = await pageCdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (reply.exceptionDetails) throw new Error(reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text);
    return reply.result.value as T;
  };
  const close = async () => {
    await pageCdp.detach();
    await browserCdp.detach();
  };
  return { ask, crashed, targets, close };
}

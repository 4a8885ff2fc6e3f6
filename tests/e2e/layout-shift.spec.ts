import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ROOT } from '../support/page-weight.ts';

/**
 * Every page of the course holds still while it loads: its cumulative layout shift is 0 to the three
 * decimals Lighthouse reports. (Starlight's sidebar can nudge a 1-pixel node by 0.0001 on a busy machine.)
 */
const NO_SHIFT = 0.001;
const PAGES = ['', ...readdirSync(join(ROOT, 'src/content/docs/chapters')).map((f) => `chapters/${f.replace(/\.mdx?$/, '')}/`), 'progress/', 'team/', 'teams/hosting/', 'no-such-page/'];

/** Sums the layout shifts the page reports (not those right after input), from the start of its load. */
async function layoutShift(page: Page, path: string): Promise<number> {
  await page.addInitScript(() => {
    const w = window as unknown as { __shift: number };
    w.__shift = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean })[]) if (!entry.hadRecentInput) w.__shift += entry.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(path, { waitUntil: 'networkidle' });
  // Scripts that fill the page (progress, team, sidebar marks) run after load: give them a moment.
  await page.waitForTimeout(500);
  return page.evaluate(() => (window as unknown as { __shift: number }).__shift);
}

for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 412, height: 823 }]] as const) {
  test.describe(name, () => {
    test.use({ viewport });
    for (const path of PAGES) {
      test(`/${path}: no layout shift (${name})`, async ({ page }) => {
        expect(await layoutShift(page, path)).toBeLessThan(NO_SHIFT);
      });
    }
  });
}

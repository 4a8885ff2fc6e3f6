import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ROOT } from '../support/page-weight.ts';
import { serveStatic } from '../support/static-server.ts';

/**
 * Every page of the course holds still while it loads: its cumulative layout shift is 0 to the three
 * decimals Lighthouse reports. (Starlight's sidebar can nudge a 1-pixel node by 0.0001 on a busy machine.)
 */
const NO_SHIFT = 0.001;
const CHAPTERS = readdirSync(join(ROOT, 'src/content/docs/chapters')).map((f) => `chapters/${f.replace(/\.mdx?$/, '')}/`);
const PAGES = ['', ...CHAPTERS, 'progress/', 'team/', 'teams/hosting/', 'no-such-page/'];
const DESKTOP = { width: 1280, height: 800 };

interface Shifts {
  total: number;
  /** Each shifted node as `tag.class x,y w×h → x,y w×h`, so a failure says what moved. */
  moved: string[];
}

/** Sums the layout shifts the page reports (not those right after input), from the start of its load. */
async function layoutShift(page: Page, url: string): Promise<Shifts> {
  await page.addInitScript(() => {
    const w = window as unknown as { __shifts: Shifts };
    w.__shifts = { total: 0, moved: [] };
    const box = (r: DOMRectReadOnly) => `${Math.round(r.x)},${Math.round(r.y)} ${Math.round(r.width)}×${Math.round(r.height)}`;
    new PerformanceObserver((list) => {
      type Source = { node?: Node; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly };
      for (const entry of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean; sources: Source[] })[]) {
        if (entry.hadRecentInput) continue;
        w.__shifts.total += entry.value;
        for (const s of entry.sources) {
          const el = s.node instanceof Element ? s.node : s.node?.parentElement;
          const name = el ? `${el.tagName.toLowerCase()}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}` : '(text)';
          w.__shifts.moved.push(`${name} ${box(s.previousRect)} → ${box(s.currentRect)} (shift ${entry.value.toFixed(4)})`);
        }
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  // Scripts that fill the page (progress, team, sidebar marks) run after load: give them a moment.
  await page.waitForTimeout(500);
  return page.evaluate(() => (window as unknown as { __shifts: Shifts }).__shifts);
}

function expectStill(shifts: Shifts, what: string) {
  expect(shifts.total, `${what} shifted by ${shifts.total.toFixed(4)}; what moved:\n${shifts.moved.join('\n')}`).toBeLessThan(NO_SHIFT);
}

for (const [name, viewport] of [['desktop', DESKTOP], ['phone', { width: 412, height: 823 }]] as const) {
  test.describe(name, () => {
    test.use({ viewport });
    for (const path of PAGES) {
      test(`/${path}: no layout shift (${name})`, async ({ page }) => {
        expectStill(await layoutShift(page, path), `/${path}`);
      });
    }
  });
}

/*
 * Starlight puts the "On this page" column before the main pane in the HTML. When a long page arrives
 * in parts (a slow network, a busy machine), the browser paints the column before the main pane exists;
 * it must already stand where it ends up. Served here in two parts, 400 ms apart, so the case is
 * certain rather than left to the machine's timing.
 */
test.describe('desktop, the page arriving in two parts', () => {
  test.use({ viewport: DESKTOP });
  for (const path of ['chapters/04-asynchronism/', 'teams/hosting/']) {
    test(`/${path}: no layout shift while the main pane is still on its way`, async ({ page }) => {
      const server = await serveStatic(join(ROOT, 'dist'), { pauseHtml: { before: '<div class="main-pane', ms: 400 } });
      try {
        expectStill(await layoutShift(page, `${server.url}${path}`), `/${path} (arriving in two parts)`);
      } finally {
        await server.close();
      }
    });
  }
});

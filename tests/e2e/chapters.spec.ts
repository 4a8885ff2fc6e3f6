import { expect, test } from '@playwright/test';

const CHAPTERS = [
  ['00-one-server', 'From one server'],
  ['01-clones', 'Clones'],
  ['02-databases', 'Databases'],
  ['03-caching', 'Caching'],
  ['04-asynchronism', 'Asynchronism'],
  ['05-cdn', 'CDN'],
  ['06-multiple-datacenters', 'Multiple datacenters'],
] as const;

test('the sidebar lists the seven chapters in order', async ({ page }) => {
  await page.goto('chapters/00-one-server/');
  const links = page.locator('nav[aria-label="Main"] a[href*="/chapters/"]');
  await expect(links).toHaveText(CHAPTERS.map(([, title]) => title));
});

for (const [slug, title] of CHAPTERS) {
  test(`${title}: diagrams are pre-rendered SVG with a text alternative, and a summary and sources close the lesson`, async ({ page }) => {
    await page.goto(`chapters/${slug}/`);
    await expect(page.locator('h1')).toHaveText(title);
    const diagrams = page.locator('figure.diagram');
    expect(await diagrams.count()).toBeGreaterThanOrEqual(2);
    for (const svg of await page.locator('figure.diagram svg').all()) {
      // Mermaid writes accTitle/accDescr as <title>/<desc>, referenced by aria attributes.
      expect(await svg.getAttribute('aria-labelledby')).toBeTruthy();
      expect(await svg.getAttribute('aria-describedby')).toBeTruthy();
    }
    await expect(page.locator('h2#what-to-remember')).toBeVisible();
    await expect(page.locator('h2#sources')).toBeVisible();
  });
}

test('diagrams follow the theme toggle, not only the OS setting', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('chapters/01-clones/');
  const first = page.locator('figure.diagram').first();
  await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'light'));
  await expect(first.locator('.diagram-light')).toBeVisible();
  await expect(first.locator('.diagram-dark')).toBeHidden();
  const fillOf = (theme: string) =>
    first.locator(`.diagram-${theme} svg .node rect`).first().evaluate((el) => getComputedStyle(el).fill);
  // Mermaid's own styles must reach the SVG: unstyled shapes are filled black.
  expect(await fillOf('light')).not.toBe('rgb(0, 0, 0)');
  await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'dark'));
  await expect(first.locator('.diagram-dark')).toBeVisible();
  await expect(first.locator('.diagram-light')).toBeHidden();
  expect(await fillOf('dark')).not.toBe(await fillOf('light'));
});

test('each chapter links to the next', async ({ page }) => {
  for (let i = 0; i < CHAPTERS.length - 1; i++) {
    await page.goto(`chapters/${CHAPTERS[i]![0]}/`);
    await page.locator('.sl-markdown-content').getByRole('link', { name: CHAPTERS[i + 1]![1], exact: true }).last().click();
    await expect(page).toHaveURL(new RegExp(`/chapters/${CHAPTERS[i + 1]![0]}/$`));
  }
});

import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

// The chapters whose prose uses the page's figures (round trips, core and link throughput).
const CHAPTERS_USING_FIGURES = ['00-one-server', '01-clones', '02-databases', '03-caching', '05-cdn', '06-multiple-datacenters'];

test('the numbers page is in the sidebar, and every figure names its source', async ({ page }) => {
  await page.goto('chapters/00-one-server/');
  await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Numbers to know' }).click();
  await expect(page).toHaveURL(/\/reference\/numbers\/$/);
  await expect(page.locator('h1')).toHaveText('Numbers to know');

  for (const heading of ['latency', 'throughput']) {
    // Starlight wraps each heading in a div, so the table is that wrapper's next table sibling.
    const table = page.locator(`.sl-heading-wrapper:has(h2#${heading}) ~ table`).first();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(6);
    for (const row of await rows.all()) {
      const [what, figure, source] = await row.locator('td').allInnerTexts();
      expect(figure?.trim(), `${what}: a figure`).toBeTruthy();
      expect(source?.trim(), `${what}: a source`).toBeTruthy();
    }
  }
  await expect(page.locator('h2#sources')).toBeVisible();
  const violations = (await new AxeBuilder({ page }).analyze()).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(violations.map((v) => v.id)).toEqual([]);
});

for (const chapter of CHAPTERS_USING_FIGURES) {
  test(`${chapter} links to the numbers page where it uses its figures`, async ({ page }) => {
    await page.goto(`chapters/${chapter}/`);
    const link = page.locator('.sl-markdown-content a[href$="/reference/numbers/"]').first();
    await link.click();
    await expect(page.locator('h1')).toHaveText('Numbers to know');
  });
}

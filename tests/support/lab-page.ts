/** What the e2e tests do with a chapter's lab, as a reader would. */
import { expect, type Locator } from '@playwright/test';

/** Presses "Open the lab here" and waits for the Worker runtime (pages opened with ?runtime=worker). */
export async function openLabOnWorker(root: Locator): Promise<void> {
  await root.getByTestId('lab-open').click();
  await expect(root).toHaveAttribute('data-runtime', 'worker', { timeout: 30_000 });
}

/** Reveals the solution and applies it to the editable files. */
export async function applySolution(root: Locator): Promise<void> {
  await root.getByTestId('lab-reveal').click();
  await root.getByTestId('lab-apply-solution').click();
}

/** Presses Run tests and waits until no step is running any more. */
export async function runAndWait(root: Locator): Promise<void> {
  await root.getByTestId('lab-run').click();
  await expect(root.locator('[data-testid="lab-step"][data-status="running"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(root.getByTestId('lab-run')).toBeEnabled();
}

import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

/**
 * E2E tests drive the built site (`npm run build` first) in Chromium, like a reader. Playwright's
 * own browser download does not work on every machine, so Debian's chromium is used where present
 * ($CHROMIUM_PATH overrides), and Playwright's browser where a user has installed it.
 */
const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
const port = Number(process.env.E2E_PORT ?? 4329);

/**
 * Specs that assert wall-clock bounds (a loop stopped within 5 s, no main-thread task over 200 ms,
 * results within a time) run after the others, one at a time, on a machine nothing else loads; the
 * others run two at once, which keeps CI well under 20 minutes on two cores.
 */
const TIMED = /[\\/](limits|lab|picture|replay|parity)\.spec\.ts$/;

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  timeout: 60_000,
  use: {
    baseURL: `http://127.0.0.1:${port}/`,
    launchOptions: {
      ...(chromium ? { executablePath: chromium } : {}),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    },
  },
  projects: [
    { name: 'pages', testIgnore: TIMED },
    { name: 'timed', testMatch: TIMED, dependencies: ['pages'], workers: 1 },
  ],
  webServer: {
    command: `npx astro preview --port ${port} --host 127.0.0.1`,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});

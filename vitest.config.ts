import { defineConfig } from 'vitest/config';

// Project tests only. Graded lab tests run through scripts/lab.ts, which points them at the files under test.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
    ],
  },
});

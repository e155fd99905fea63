import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.spec.ts',
      'plugins/*/src/**/*.spec.ts',
      'tools/*/src/**/*.spec.ts',
      'e2e/src/**/*.spec.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // Tensor back ends are process-global state: one file per worker process, no shared isolates.
    pool: 'forks',
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

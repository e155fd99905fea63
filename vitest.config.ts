import { defineConfig } from 'vitest/config';

/**
 * Workspace packages export their TypeScript sources under this condition (and compiled dist/
 * otherwise): tests run on the sources, never on a stale build. Child processes the tests spawn
 * (`node --import tsx …`) get it through NODE_OPTIONS.
 */
const SOURCE_CONDITION = '@transplant/source';
if (!(process.env['NODE_OPTIONS'] ?? '').includes(`--conditions=${SOURCE_CONDITION}`))
  process.env['NODE_OPTIONS'] =
    `${process.env['NODE_OPTIONS'] ?? ''} --conditions=${SOURCE_CONDITION}`.trim();

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'] } },
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

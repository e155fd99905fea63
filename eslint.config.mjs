import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import prettierConfig from 'eslint-config-prettier';

// The boundary rule reads nx's cached project graph and, without one (a fresh clone, CI), skips
// itself with only a warning. Build the graph first so the rule always runs.
await createProjectGraphAsync({ exitOnError: true });

/**
 * Module boundaries (docs/design.md §2): a package depends only on packages below it —
 * core ← data, registry ← composer ← distill ← cli, with the explanation packages beside
 * distill (interpretable conv layers below the explanatory graph and the explainer, which
 * build on its layer probes and metrics) — and plugins import only @transplant/core and
 * TensorFlow.js. The platform (built-in plugins, embedded registry, version, container factory)
 * sits under the composition roots: the CLI and the tools; it alone imports the zoo package.
 */
const LAYERS = {
  'layer:core': ['layer:core'],
  'layer:data': ['layer:core'],
  'layer:registry': ['layer:core'],
  'layer:composer': ['layer:core', 'layer:data', 'layer:registry'],
  'layer:distill': ['layer:core', 'layer:data', 'layer:registry', 'layer:composer'],
  'layer:interpret': ['layer:core', 'layer:data', 'layer:registry', 'layer:composer'],
  'layer:explain': ['layer:core', 'layer:data', 'layer:registry', 'layer:composer', 'layer:interpret'],
  'layer:plugin': ['layer:core'],
  // The model zoo as a package: data (a folder registry) and its path, importing nothing.
  'layer:zoo': ['layer:zoo'],
  'layer:platform': ['layer:core', 'layer:registry', 'layer:composer', 'layer:plugin', 'layer:zoo'],
  // The hub: a read-only web app over a registry, below the CLI (which starts it).
  'layer:hub': [
    'layer:core',
    'layer:data',
    'layer:registry',
    'layer:composer',
    'layer:interpret',
    'layer:explain',
  ],
  'layer:cli': [
    'layer:hub',
    'layer:core',
    'layer:data',
    'layer:registry',
    'layer:composer',
    'layer:distill',
    'layer:interpret',
    'layer:explain',
    'layer:plugin',
    'layer:platform',
  ],
  'layer:tools': ['*'],
  'layer:e2e': ['*'],
};

export default [
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.nx/**',
      'registry/**',
      'tools/bench/results/**',
      'tmp/**',
      'reports/**',
      'tools/zoo/.work/**',
    ],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: true,
          checkDynamicDependenciesExceptions: [],
          depConstraints: [
            ...Object.entries(LAYERS).map(([sourceTag, allowed]) => ({
              sourceTag,
              onlyDependOnLibsWithTags: allowed,
            })),
            // Plugins: tfjs layers, and class-validator for their options schema (docs/design.md §2).
            {
              sourceTag: 'layer:plugin',
              allowedExternalImports: ['@tensorflow/*', 'class-validator', 'vitest'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // noUncheckedIndexedAccess makes every indexed read possibly undefined; numeric loops over
    // typed arrays and tests over fixtures they just built mark in-bounds reads with `!`.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  // Formatting is Prettier's (`npm run format`; `npm run lint` checks it): no stylistic ESLint rules.
  prettierConfig,
];

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { installedClosure } from './startup-bench';

const CLI = fileURLToPath(new URL('../../../packages/cli', import.meta.url));

describe('the installed closure the start-up bench sizes', () => {
  it("is the CLI's production dependencies, transitively, each once, largest first", () => {
    const closure = installedClosure(CLI);
    const names = closure.map((p) => p.name.replace(/@[^@]+$/, ''));
    expect(names).toEqual(
      expect.arrayContaining(['@transplant/cli', '@transplant/core', 'commander', '@tensorflow/tfjs-core']),
    );
    // Development tools are not installed with it.
    for (const tool of ['vitest', 'tsx', 'typescript', 'nx', 'esbuild', 'eslint'])
      expect(names).not.toContain(tool);
    expect(new Set(closure.map((p) => p.name)).size).toBe(closure.length);
    expect(closure.every((p) => p.bytes > 0)).toBe(true);
    expect(closure.map((p) => p.bytes)).toEqual([...closure.map((p) => p.bytes)].sort((a, b) => b - a));
  });
});

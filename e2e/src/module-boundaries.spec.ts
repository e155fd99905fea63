import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: `${root}/${filePath}` });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
    .map((m) => m.message);
}

describe('module boundaries (docs/design.md §2) are enforced by lint', () => {
  it('refuses an import of a higher layer', async () => {
    const errors = await boundaryErrors(
      'packages/core/src/upward.ts',
      "import { runCli } from '@transplant/cli';\nexport const x = runCli;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('refuses an import of a tool or application from a library layer', async () => {
    // nx reports that apps may not be imported, or the cycle the import would close where the
    // tool depends on the CLI; either way lint refuses it.
    const errors = await boundaryErrors(
      'packages/cli/src/sideways.ts',
      "import { x } from '@transplant/bench';\nexport const y = x;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Imports of apps are forbidden|Circular dependency between "cli" and "bench"/);
  });

  it('allows an import of a lower layer', async () => {
    const errors = await boundaryErrors(
      'packages/cli/src/downward.ts',
      "import { selectBackend } from '@transplant/core';\nexport const x = selectBackend;\n",
    );
    expect(errors).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ZOO_REGISTRY } from './index';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function files(dir: string, only?: ReadonlySet<string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (only && !only.has(relative(dir, path))) continue;
    out[relative(dir, path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return out;
}

describe('@transplant/zoo', () => {
  it("is the workspace's committed registry, file for file, in the package's dist/ (its build copies what git tracks)", async () => {
    expect(ZOO_REGISTRY).toBe(join(ROOT, 'packages', 'zoo', 'dist', 'registry'));
    if (!existsSync(ZOO_REGISTRY))
      throw new Error(`${ZOO_REGISTRY} is missing: run \`npm run build\` (npm test builds first)`);
    const zoo = await files(ZOO_REGISTRY);
    expect(Object.keys(zoo)).toContain('transplant-registry.json');
    expect(Object.keys(zoo).filter((f) => f.startsWith('modules/cat-seg/'))).not.toEqual([]);
    // What a checkout published itself (README line 1 publishes cat-cls-via-bird) is not the zoo's.
    const tracked = execFileSync('git', ['ls-files', '-z', '--', '.'], { cwd: join(ROOT, 'registry') })
      .toString()
      .split('\0')
      .filter(Boolean);
    expect(zoo).toEqual(await files(join(ROOT, 'registry'), new Set(tracked)));
  });

  it('ships only dist/ (the registry copy and the compiled index), never the sources', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'packages', 'zoo', 'package.json'), 'utf8'));
    expect(pkg.files).toEqual(['dist']);
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});

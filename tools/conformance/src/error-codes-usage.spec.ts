import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * A repository check (this project's test target takes the whole repository as its input, so
 * nx never replays an old pass of it): library code raises domain codes, never the CLI's
 * E_USAGE, whose hint sends the user to a command's --help.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every source file under `dir` (recursively), spec files left out. */
async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = await Promise.all(
    entries.map(async (e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
      return /\.(?:ts|tsx|js|mjs|cjs)$/.test(e.name) && !/\.spec\.[cm]?[jt]sx?$/.test(e.name) ? [path] : [];
    }),
  );
  return files.flat();
}

/** The `src` folders of every package, plugin and tool except the CLI. */
async function librarySources(): Promise<string[]> {
  const folders: string[] = [];
  for (const group of ['packages', 'plugins', 'tools']) {
    for (const e of await readdir(join(root, group), { withFileTypes: true })) {
      if (e.isDirectory() && !(group === 'packages' && e.name === 'cli'))
        folders.push(join(root, group, e.name, 'src'));
    }
  }
  return (await Promise.all(folders.map(sources))).flat();
}

describe('error codes', () => {
  it('E_USAGE is raised only by the CLI: library code uses a domain code such as E_INVALID_ARGUMENT', async () => {
    const catalog = join(root, 'packages/core/src/errors/catalog.ts');
    const files = (await librarySources()).filter((f) => f !== catalog);
    // The scan must see the libraries, or it would pass on nothing.
    expect(files).toContain(join(root, 'packages/registry/src/oci/oci-store.ts'));
    expect(files).toContain(join(root, 'packages/explanatory-graph/src/graph.ts'));
    const offending: string[] = [];
    for (const file of files) {
      (await readFile(file, 'utf8')).split('\n').forEach((line, i) => {
        if (/\bE_USAGE\b/.test(line)) offending.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offending).toEqual([]);
  });
});

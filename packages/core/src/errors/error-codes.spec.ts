import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from './catalog';
import { TransplantError } from './transplant-error';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

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

  it('every catalog entry has a title and a hint that say something, without a closing full stop', () => {
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^E_[A-Z]+(?:_[A-Z]+)*$/);
      const { title, hint } = ERROR_CATALOG[code];
      expect(title.length).toBeGreaterThan(10);
      expect(hint.length).toBeGreaterThan(10);
      // The message appends its own '.' after the hint.
      expect(hint).not.toMatch(/\.$/);
    }
  });

  it('keeps the detail and the cause apart from the formatted message', () => {
    const cause = new Error('boom');
    const error = new TransplantError('E_INVALID_ARGUMENT', '"x" is not a layer', {
      operation: 'explain',
      module: 'cat-cls',
      cause,
    });
    expect(error.detail).toBe('"x" is not a layer');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(
      `E_INVALID_ARGUMENT: ${ERROR_CATALOG.E_INVALID_ARGUMENT.title} (explain cat-cls): "x" is not a layer. ${ERROR_CATALOG.E_INVALID_ARGUMENT.hint}.`,
    );
  });
});

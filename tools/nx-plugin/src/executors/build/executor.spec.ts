import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BUILD_OPTION_KEYS, buildPackage, entryPointsOf, SOURCE_CONDITION, trackedFiles } from './executor';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/** A one-module package in `dir` whose build the asset tests can run (no declarations). */
async function writeTinyPackage(dir: string, name: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name,
      type: 'module',
      exports: { '.': { [SOURCE_CONDITION]: './src/index.ts', default: './dist/index.js' } },
    }),
  );
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: join(ROOT, 'tsconfig.base.json'), include: ['src/**/*.ts'] }),
  );
  await writeFile(join(dir, 'src', 'index.ts'), 'export const x = 1;\n');
}

describe('the build executor', () => {
  it('has a schema that matches its options type', async () => {
    const schema = JSON.parse(await readFile(new URL('./schema.json', import.meta.url), 'utf8'));
    expect(Object.keys(schema.properties).sort()).toEqual([...BUILD_OPTION_KEYS].sort());
    expect(schema.additionalProperties).toBe(false);
  });

  it('builds the exports whose compiled paths mirror their sources, and refuses the others', () => {
    const pkg = (compiled: string) => ({
      name: 'p',
      exports: {
        '.': { [SOURCE_CONDITION]: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
        './testing': { [SOURCE_CONDITION]: './src/testing/index.ts', default: compiled },
        './package.json': './package.json',
      },
    });
    expect(entryPointsOf(pkg('./dist/testing/index.js'), 'dist', ['src/main.ts'])).toEqual({
      index: './src/index.ts',
      'testing/index': './src/testing/index.ts',
      main: 'src/main.ts',
    });
    expect(() => entryPointsOf(pkg('./dist/testing.js'), 'dist', [])).toThrow(/the build writes/);
  });

  it('compiles decorators and relative imports into JavaScript that plain node runs, with declarations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-build-spec-'));
    try {
      await mkdir(join(dir, 'src', 'inner'), { recursive: true });
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          name: 'tiny',
          type: 'module',
          exports: {
            '.': {
              [SOURCE_CONDITION]: './src/index.ts',
              types: './dist/index.d.ts',
              default: './dist/index.js',
            },
          },
        }),
      );
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: join(ROOT, 'tsconfig.base.json'), include: ['src/**/*.ts'] }),
      );
      await writeFile(
        join(dir, 'src', 'inner', 'tagged.ts'),
        [
          'export const tags: string[] = [];',
          'export function tag(target: object, key: string): void {',
          '  tags.push(`${target.constructor.name}.${key}`);',
          '}',
          'export class Tagged {',
          '  @tag name = "x";',
          '}',
        ].join('\n'),
      );
      await writeFile(join(dir, 'src', 'index.ts'), "export { Tagged, tags } from './inner/tagged';\n");
      await buildPackage(dir, ROOT);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(join(dir, 'dist/index.js'))}); console.log(m.tags.join())`,
        ],
        { cwd: tmpdir(), env: { ...process.env, NODE_OPTIONS: '' } },
      );
      expect(stdout.trim()).toBe('Tagged.name');
      expect(await readFile(join(dir, 'dist', 'index.d.ts'), 'utf8')).toContain("from './inner/tagged.js'");
      expect(await readFile(join(dir, 'dist', 'inner', 'tagged.d.ts'), 'utf8')).toContain('class Tagged');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('copies assets into the output folder, and only inside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-build-spec-'));
    try {
      await mkdir(join(dir, 'data', 'nested'), { recursive: true });
      await writeFile(join(dir, 'data', 'nested', 'file.bin'), 'bytes');
      await writeTinyPackage(join(dir, 'pkg'), 'tiny-data');
      const from = relative(ROOT, join(dir, 'data'));
      await buildPackage(join(dir, 'pkg'), ROOT, { declarations: false, assets: [{ from, to: 'copy' }] });
      expect(await readFile(join(dir, 'pkg', 'dist', 'copy', 'nested', 'file.bin'), 'utf8')).toBe('bytes');
      await expect(
        buildPackage(join(dir, 'pkg'), ROOT, { declarations: false, assets: [{ from, to: '..' }] }),
      ).rejects.toThrow(/inside dist/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('copies only the files git tracks when an asset says `tracked` (a local publish stays out of the zoo)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-build-tracked-'));
    const git = (...args: string[]) => promisify(execFile)('git', args, { cwd: dir });
    try {
      await mkdir(join(dir, 'data', 'nested'), { recursive: true });
      await writeFile(join(dir, 'data', 'nested', 'committed.bin'), 'committed');
      await git('init', '-q');
      await git('add', 'data');
      await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'data');
      await writeFile(join(dir, 'data', 'nested', 'local.bin'), 'published here, never committed');
      expect(await trackedFiles(dir, 'data')).toEqual(['data/nested/committed.bin']);
      await writeTinyPackage(join(dir, 'pkg'), 'tiny-zoo');
      await buildPackage(join(dir, 'pkg'), dir, {
        declarations: false,
        assets: [{ from: 'data', to: 'copy', tracked: true }],
      });
      expect(await readFile(join(dir, 'pkg', 'dist', 'copy', 'nested', 'committed.bin'), 'utf8')).toBe(
        'committed',
      );
      await expect(readFile(join(dir, 'pkg', 'dist', 'copy', 'nested', 'local.bin'))).rejects.toThrow(
        /ENOENT/,
      );
      // Outside a git checkout there is nothing to ask: everything is copied.
      await rm(join(dir, '.git'), { recursive: true });
      expect(await trackedFiles(dir, 'data')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

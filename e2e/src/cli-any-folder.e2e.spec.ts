import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/transplant.js');
const run = promisify(execFile);

/** A TypeScript loader anywhere in what the bin runs: an import of tsx, or of a .ts file. */
const TS_AT_RUN_TIME = /(?:from\s*|import\s*\(\s*|import\s+)["'](?:tsx(?:\/[^"']*)?|[^"']+\.ts)["']/;

/**
 * The CLI as someone else's script runs it: the compiled bin (packages/cli/dist, which `npm test`
 * builds before the tests), from a fresh folder outside the workspace, with a home of its own and
 * none of the workspace's settings (no NODE_OPTIONS, so no source condition and no tsx).
 */
describe('the transplant bin from any folder', () => {
  let base: string;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'packages/cli/dist/main.js')))
      throw new Error('packages/cli/dist is missing: run `npm run build` (npm test builds first)');
    base = await mkdtemp(join(tmpdir(), 'transplant-any-folder-'));
    cwd = join(base, 'somewhere', 'else');
    await mkdir(cwd, { recursive: true });
    await mkdir(join(base, 'home'));
    env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) =>
          key !== 'NODE_OPTIONS' &&
          !key.startsWith('VITEST') &&
          !key.startsWith('XDG_') &&
          !['TRANSPLANT_REGISTRY', 'TRANSPLANT_BACKEND', 'TRANSPLANT_DEBUG', 'TSX_TSCONFIG_PATH'].includes(
            key,
          ),
      ),
    );
    env['HOME'] = join(base, 'home');
    env['TRANSPLANT_RUNS_DIR'] = join(base, 'runs');
  });

  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  const transplant = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd, env });

  it('runs compiled JavaScript: no tsx and no TypeScript source in the bin or any built package', async () => {
    expect(await readFile(BIN, 'utf8')).not.toMatch(TS_AT_RUN_TIME);
    const cli = JSON.parse(await readFile(join(ROOT, 'packages/cli/package.json'), 'utf8'));
    expect(cli.bin.transplant).toBe('./bin/transplant.js');
    expect(cli.dependencies).not.toHaveProperty('tsx');
    for (const group of ['packages', 'plugins']) {
      for (const name of await readdir(join(ROOT, group))) {
        const dist = join(ROOT, group, name, 'dist');
        if (!existsSync(join(ROOT, group, name, 'package.json'))) continue;
        const files = (await readdir(dist, { recursive: true })).filter((f) => f.endsWith('.js'));
        expect(files, `${group}/${name}/dist`).toContain('index.js');
        for (const file of files)
          expect(await readFile(join(dist, file), 'utf8'), `${group}/${name}/dist/${file}`).not.toMatch(
            TS_AT_RUN_TIME,
          );
      }
    }
  });

  it('prints --help', async () => {
    const { stdout } = await transplant('--help');
    expect(stdout).toMatch(/^Usage: transplant /);
    expect(stdout).toContain('doctor');
  }, 120_000);

  it("runs compiled packages even where the workspace's source condition is set (nx tasks, tests)", async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'], {
      cwd,
      env: { ...env, NODE_OPTIONS: '--conditions=@transplant/source' },
    });
    expect(stdout).toMatch(/^Usage: transplant /);
  }, 120_000);

  it('runs doctor', async () => {
    const { stdout } = await transplant('doctor');
    expect(stdout).toMatch(/^transplant \d+\.\d+\.\d+/);
    expect(stdout).toMatch(/back end: (wasm\+onednn|wasm|tensorflow) via /);
    expect(stdout).toMatch(/registry: .+/);
  }, 120_000);

  it('lists a registry given by path (decorated manifests validated as in the workspace)', async () => {
    const registry = join(base, 'registry');
    await cp(join(ROOT, 'registry'), registry, { recursive: true });
    const { stdout } = await transplant('registry', 'list', '--registry', registry);
    expect(stdout).toMatch(/^name\s+kind\s+latest/);
    expect(stdout).toMatch(/^cat-seg\s+network\s+\d+\.\d+\.\d+/m);
    const json = JSON.parse((await transplant('registry', 'list', '--registry', registry, '--json')).stdout);
    expect(JSON.stringify(json)).toContain('bird-cls');
  }, 120_000);
});

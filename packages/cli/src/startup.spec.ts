import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafCommands } from './bad-input/cases';

/** This package's folder. */
const CLI_PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

const BIN = join(CLI_PACKAGE_ROOT, 'bin', 'transplant.js');
const run = promisify(execFile);

/**
 * What only a command's work needs: the tensor library, the image codecs, the validator, the
 * codec and the DI container. `--help`, `--version` and a usage error must load none of them.
 */
const HEAVY = [
  '@tensorflow',
  '@napi-rs/canvas',
  'sharp',
  'class-validator',
  'class-transformer',
  'msgpackr',
  'inversify',
  'reflect-metadata',
];

/** The packages of `node_modules/…` URLs in a load log, e.g. `@tensorflow/tfjs-core`. */
function packagesIn(log: string): Set<string> {
  const names = new Set<string>();
  for (const match of log.matchAll(/\/node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//g)) names.add(match[1]!);
  return names;
}

const heavyIn = (log: string) =>
  [...packagesIn(log)].filter((name) => HEAVY.some((h) => name === h || name.startsWith(`${h}/`)));

/**
 * The compiled bin (what `npm test` builds first) run with a module hook that logs every module
 * it resolves: the lazy loading that keeps `--help` fast, checked by what is loaded, not by a
 * clock (start-up times are in tools/bench/results/startup.json).
 */
describe('start-up loads only what the command needs', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const loads = async (args: readonly string[], name: string) => {
    const log = join(dir, `${name}.log`);
    await writeFile(log, '');
    const result = await run(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, ...args], {
      env: { ...env, LOAD_LOG: log },
    }).catch((error: { code?: number; stdout?: string; stderr?: string }) => error);
    return { log: await readFile(log, 'utf8'), result };
  };

  beforeAll(async () => {
    if (!existsSync(join(CLI_PACKAGE_ROOT, 'dist', 'main.js')))
      throw new Error('packages/cli/dist is missing: run `npm run build` (npm test builds first)');
    dir = await mkdtemp(join(tmpdir(), 'transplant-startup-'));
    await writeFile(
      join(dir, 'hooks.mjs'),
      [
        "import { appendFileSync } from 'node:fs';",
        'let log;',
        'export function initialize(data) { log = data.log; }',
        'export async function resolve(specifier, context, next) {',
        '  const result = await next(specifier, context);',
        '  appendFileSync(log, `${result.url}\\n`);',
        '  return result;',
        '}',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'register.mjs'),
      "import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.LOAD_LOG } });\n",
    );
    // The compiled CLI as a user runs it: no source condition, the cpu back end for doctor.
    env = { ...process.env, TRANSPLANT_BACKEND: 'cpu' };
    delete env['NODE_OPTIONS'];
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the hook sees what a command loads: doctor loads the tensor library', async () => {
    const { log, result } = await loads(['doctor'], 'doctor');
    expect(result).toHaveProperty('stdout', expect.stringMatching(/^transplant \d/));
    expect(heavyIn(log)).toEqual(expect.arrayContaining(['@tensorflow/tfjs', 'inversify']));
  }, 60_000);

  it('--help, --version and a usage error load none of the heavy packages', async () => {
    for (const [name, args] of [
      ['help', ['--help']],
      ['version', ['--version']],
      ['help-command', ['help', 'transplant']],
      ['usage', ['transplant', '--no-such-option']],
      ['missing', ['graph', 'mine']],
    ] as const) {
      const { log, result } = await loads(args, name);
      expect(log, name).toContain('/commander/');
      expect(heavyIn(log), name).toEqual([]);
      expect(result, name).not.toHaveProperty('stderr', expect.stringContaining('E_INTERNAL'));
    }
  }, 120_000);

  it('prints the completion script without loading them', async () => {
    const { log, result } = await loads(['completion', 'bash'], 'completion');
    expect(result).toHaveProperty('stdout', expect.stringContaining('complete -F'));
    expect(heavyIn(log)).toEqual([]);
  }, 60_000);

  it('ends quietly when its reader closes the pipe early (`transplant --help | head -1`)', async () => {
    const child = spawn(process.execPath, [BIN, '--help'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  }, 60_000);

  it("every command's --help loads none of them", async () => {
    const leaves = leafCommands().map(({ path }) => path);
    expect(leaves.length).toBeGreaterThan(25);
    const loaded: Record<string, string[]> = {};
    // Two at a time: the machine has two cores.
    for (let i = 0; i < leaves.length; i += 2)
      await Promise.all(
        leaves.slice(i, i + 2).map(async (path, j) => {
          const { log, result } = await loads([...path.split(' '), '--help'], `leaf-${i + j}`);
          expect(result, path).toHaveProperty('stdout', expect.stringContaining(`Usage: transplant ${path}`));
          loaded[path] = heavyIn(log);
        }),
      );
    expect(loaded).toEqual(Object.fromEntries(leaves.map((path) => [path, []])));
  }, 300_000);
});

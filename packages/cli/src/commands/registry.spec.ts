import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { moduleFixture, writeModuleFolder } from '@transplant/registry';
import { runCli } from '../program';

let dir: string;

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
  return { code, stdout, stderr };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-registry-'));
  await writeModuleFolder(join(dir, 'm100'), moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
  await writeModuleFolder(join(dir, 'm110'), moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 2 }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('transplant registry', () => {
  it('publishes module folders, resolves into a lockfile, lists and shows info', async () => {
    const reg = join(dir, 'reg');
    expect(
      (await run('--registry', reg, '--create', 'registry', 'publish', join(dir, 'm100'))).stdout,
    ).toContain('published cat-vgg@1.0.0');
    await run('--registry', reg, 'registry', 'publish', join(dir, 'm110'));
    const again = await run('--registry', reg, 'registry', 'publish', join(dir, 'm110'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('E_VERSION_EXISTS');
    const lockfile = join(dir, 'transplant.lock.json');
    const resolved = await run(
      '--registry',
      reg,
      'registry',
      'resolve',
      'cat-vgg@^1',
      '--lockfile',
      lockfile,
    );
    expect(resolved.stdout).toContain('cat-vgg@^1 → 1.1.0');
    expect(JSON.parse(await readFile(lockfile, 'utf8')).modules['cat-vgg@^1'].version).toBe('1.1.0');
    expect((await run('--registry', reg, 'registry', 'list')).stdout).toMatch(
      /cat-vgg +category +1\.1\.0 +\(2 versions\)/,
    );
    const info = JSON.parse((await run('--json', '--registry', reg, 'registry', 'info', 'cat-vgg')).stdout);
    expect(Object.keys(info.index.versions)).toEqual(['1.0.0', '1.1.0']);
    expect(info.manifest.version).toBe('1.1.0');
  });

  it('yanks and unyanks; resolve warns about a yanked exact pin', async () => {
    const reg = join(dir, 'reg');
    expect((await run('--registry', reg, 'registry', 'init')).code).toBe(0);
    for (const m of ['m100', 'm110']) await run('--registry', reg, 'registry', 'publish', join(dir, m));
    expect((await run('--registry', reg, 'registry', 'yank', 'cat-vgg@1.1.0')).code).toBe(0);
    const lock = join(dir, 'l.json');
    expect(
      (await run('--registry', reg, 'registry', 'resolve', 'cat-vgg@^1', '--lockfile', lock)).stdout,
    ).toContain('→ 1.0.0');
    const pinned = await run('--registry', reg, 'registry', 'resolve', 'cat-vgg@1.1.0', '--lockfile', lock);
    expect(pinned.stderr).toContain('yanked');
    expect((await run('--registry', reg, 'registry', 'unyank', 'cat-vgg@1.1.0')).code).toBe(0);
    expect((await run('--registry', reg, 'registry', 'yank', 'cat-vgg@^1')).stderr).toContain('E_USAGE');
  });

  it('verify exits 1 on a corrupt blob and names the module; gc and push/pull work', async () => {
    const reg = join(dir, 'reg');
    const other = join(dir, 'other');
    await run('--registry', reg, '--create', 'registry', 'publish', join(dir, 'm100'));
    expect((await run('--registry', reg, 'registry', 'verify')).code).toBe(0);
    const push = ['--registry', reg, 'registry', 'push', 'cat-vgg@1.0.0', '--to', other];
    expect((await run(...push)).stderr).toContain('E_REGISTRY_NOT_FOUND');
    expect((await run('--create', ...push)).stdout).toContain('copied cat-vgg@1.0.0');
    expect(
      (await run('--registry', other, 'registry', 'pull', 'cat-vgg@1.0.0', '--from', reg)).stdout,
    ).toContain('already there: cat-vgg@1.0.0');
    expect((await run('--registry', reg, 'registry', 'gc', '--grace-ms', '0')).stdout).toContain(
      'deleted 0 blobs',
    );
    const blobs = join(reg, 'blobs', 'sha256');
    for (const f of await readdir(blobs)) {
      const bytes = await readFile(join(blobs, f));
      bytes[0]! ^= 1;
      await writeFile(join(blobs, f), bytes);
    }
    const verify = await run('--registry', reg, 'registry', 'verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('corrupt');
    expect(verify.stdout).toContain('(cat-vgg@1.0.0)');
    expect(verify.stderr).toContain('E_REGISTRY_CORRUPT');
    const fetchBroken = await run('--registry', reg, 'registry', 'info', 'cat-vgg');
    expect(fetchBroken.stderr).toContain('E_DIGEST_MISMATCH');
  });
});

describe('a registry folder that does not exist', () => {
  const fixtures = ['m100', 'm110'];

  it('is E_REGISTRY_NOT_FOUND for every read command, which creates nothing', async () => {
    const missing = join(dir, 'typo');
    const reads = [
      ['registry', 'list'],
      ['registry', 'info', 'cat-vgg'],
      ['registry', 'resolve', 'cat-vgg@^1', '--lockfile', join(dir, 'l.json')],
      ['registry', 'verify'],
      ['registry', 'gc'],
      ['registry', 'yank', 'cat-vgg@1.0.0'],
      ['registry', 'unyank', 'cat-vgg@1.0.0'],
      ['registry', 'push', 'cat-vgg@1.0.0', '--to', join(dir, 'elsewhere')],
    ];
    for (const argv of reads) {
      for (const flags of [[], ['--create']]) {
        const r = await run('--registry', missing, ...flags, ...argv);
        expect({ argv, flags, code: r.code, stdout: r.stdout }).toEqual({ argv, flags, code: 1, stdout: '' });
        expect(r.stderr).toMatch(
          /^error E_REGISTRY_NOT_FOUND: no registry at this location .*does not exist/,
        );
        expect(r.stderr).toContain('transplant registry init');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    }
    const json = await run('--json', '--registry', missing, 'registry', 'list');
    expect(JSON.parse(json.stderr).error.code).toBe('E_REGISTRY_NOT_FOUND');
    const pull = await run(
      '--registry',
      join(dir, 'into'),
      'registry',
      'pull',
      'cat-vgg@1.0.0',
      '--from',
      missing,
    );
    expect(pull.stderr).toContain('E_REGISTRY_NOT_FOUND');
    const env = await runCli(['registry', 'list'], {
      stdout: () => undefined,
      stderr: () => undefined,
      env: { TRANSPLANT_REGISTRY: missing },
    });
    expect(env).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(fixtures);
  });

  it('publish refuses without --create and leaves nothing; with --create it makes the registry', async () => {
    const reg = join(dir, 'new', 'reg');
    const refused = await run('--registry', reg, 'registry', 'publish', join(dir, 'm100'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('E_REGISTRY_NOT_FOUND');
    expect((await readdir(dir)).sort()).toEqual(fixtures);
    const created = await run('--registry', reg, 'registry', 'publish', '--create', join(dir, 'm100'));
    expect(created.stdout).toContain('published cat-vgg@1.0.0');
    expect((await run('--registry', reg, 'registry', 'list')).stdout).toMatch(/cat-vgg +category +1\.0\.0/);
  });

  it('registry init makes an empty valid registry, says so, and is a no-op on an existing one', async () => {
    const reg = join(dir, 'fresh');
    const init = await run('--json', '--registry', reg, 'registry', 'init');
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ created: true });
    expect((await readdir(reg)).sort()).toEqual(['blobs', 'modules', 'tmp', 'transplant-registry.json']);
    expect((await run('--registry', reg, 'registry', 'list')).stdout).toBe('(no modules)\n');
    expect((await run('--registry', reg, 'registry', 'verify')).code).toBe(0);
    expect((await run('--registry', reg, 'registry', 'init')).stdout).toContain('already a registry');
    const notRegistry = await run('--registry', join(dir, 'm100'), 'registry', 'init');
    expect(notRegistry.code).toBe(2);
    expect(notRegistry.stderr).toContain('E_INVALID_ARGUMENT');
  });
});

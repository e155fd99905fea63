import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry, openStore } from '@transplant/registry';
import { startLocalRegistry, type LocalRegistry } from '@transplant/registry/testing';
import { runCli } from './testing/cli-process';
import { publishTinySpecifics } from './testing/tiny-classifiers';

const USER = 'concurrency';
const PASSWORD = 'never-printed-either';
const credentials = { TRANSPLANT_REGISTRY_USERNAME: USER, TRANSPLANT_REGISTRY_PASSWORD: PASSWORD };
let dir: string;
let server: LocalRegistry;

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-concurrency-cli-'));
  server = await startLocalRegistry({ [USER]: PASSWORD });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const STORES = {
  folder: async () => {
    const location = join(dir, 'registry');
    return { location, registry: new Registry(new FolderStore(location)), env: {} };
  },
  oci: async () => {
    const env = { ...credentials, TRANSPLANT_CACHE: join(dir, 'cache') };
    const location = `${server.location}-concurrency`;
    return { location, registry: new Registry(await openStore(location, env)), env };
  },
} as const;

describe.each(Object.keys(STORES) as (keyof typeof STORES)[])(
  'publishing at once to one %s registry',
  (kind) => {
    it('two transplants and an add-category all succeed, with distinct versions, and the registry verifies clean', async () => {
      const { location, registry, env } = await STORES[kind]();
      await publishTinySpecifics(registry, ['bird', 'cat'], 'cpu');
      const cli = (...args: string[]) =>
        runCli(['--registry', location, '--json', ...args], {
          ...env,
          TRANSPLANT_THREADS: '1',
          TRANSPLANT_RUNS_DIR: join(dir, `runs-${kind}`),
        });
      // The generic network is made on the back end the runs use, so that its guard digests are theirs.
      const created = await cli('generic', 'create', '--name', 'animals', '--from', 'bird-cls,bird-seg');
      expect(created.code, created.stderr).toBe(0);
      const transplant = ['transplant', '--from', 'bird-cls', '--to', 'cat-seg', '--steps', '20'];
      const runs = await Promise.all([
        cli(...transplant, '--reports', join(dir, `reports-${kind}-a`)),
        cli(...transplant, '--reports', join(dir, `reports-${kind}-b`)),
        cli('add-category', '--generic', 'animals', '--from', 'cat-seg', '--steps', '20'),
      ]);
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      const [a, b, grown] = runs.map((run) => JSON.parse(run.stdout));
      // The same command twice at once: the second works beside the first, and takes the next version.
      expect([a.version, b.version].sort()).toEqual(['1.0.0', '1.1.0']);
      expect(grown.version).toBe('1.1.0');
      for (const name of ['cat-cls-via-bird', 'cat-cls-via-bird-adapter'])
        expect(Object.keys((await registry.index(name)).versions).sort()).toEqual(['1.0.0', '1.1.0']);
      expect(Object.keys((await registry.index('animals')).versions).sort()).toEqual(['1.0.0', '1.1.0']);
      const verified = await cli('registry', 'verify');
      expect(verified.code, verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout).problems).toEqual([]);
    }, 300_000);
  },
);

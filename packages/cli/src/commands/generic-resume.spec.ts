import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { killAndResumeCli as killAndResume, runCli } from '../testing/cli-process';
import { publishTinySpecifics } from '../testing/tiny-classifiers';

let dir: string;
let template: string;
let copies = 0;

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-generic-resume-'));
  template = join(dir, 'template');
  await publishTinySpecifics(template, ['bird', 'cat'], 'cpu');
  // Created by the CLI on the back end the runs use, so that its guard digests are that back end's.
  const created = await runCli(
    ['--registry', template, 'generic', 'create', '--name', 'animals', '--from', 'bird-cls,bird-seg'],
    { TRANSPLANT_THREADS: '1' },
  );
  expect(created.code, created.stderr).toBe(0);
}, 120_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

const fresh = async () => {
  const copy = join(dir, `registry-${copies++}`);
  await cp(template, copy, { recursive: true });
  return copy;
};

/** Every version of the generic network and of the adapters a change adds, with the adapters' weight digests. */
async function published(location: string, adapters: readonly string[]) {
  const registry = new Registry(new FolderStore(location));
  const versions = async (name: string) => {
    try {
      return Object.keys((await registry.index(name)).versions);
    } catch {
      return [];
    }
  };
  const digests: Record<string, string> = {};
  for (const name of adapters)
    for (const v of await versions(name))
      digests[`${name}@${v}`] = (await registry.manifest(`${name}@${v}`)).manifest.weights.digest;
  return { generic: await versions('animals'), digests };
}

const CHANGES = [
  {
    command: 'add-category',
    adapters: ['animals-cat-seg-features-to-bird-cls-head', 'animals-cat-seg-features-to-bird-seg-head'],
    seed: 11,
  },
  // bird-cls cannot teach a seg head (no cls → seg bridge): one link learned, one skipped.
  { command: 'add-task', adapters: ['animals-bird-seg-features-to-cat-seg-head'], seed: 13 },
] as const;

describe.each(CHANGES)('$command killed with SIGKILL at random points', ({ command, adapters, seed }) => {
  it('leaves the registry valid after every kill, and the rerun resumes to the uninterrupted result, bit for bit', async () => {
    const outcome = await killAndResume({
      args: [command, '--generic', 'animals', '--from', 'cat-seg', '--steps', '150'],
      kills: 10,
      seed,
      freshRegistry: fresh,
      afterKill: async (location) => {
        const registry = new Registry(new FolderStore(location));
        expect((await registry.verify()).problems).toEqual([]);
        const now = await published(location, adapters);
        // The generic network's next version appears whole or not at all, and only once.
        expect([['1.0.0'], ['1.0.0', '1.1.0']]).toContainEqual(now.generic);
        for (const key of Object.keys(now.digests)) expect(key).toMatch(/@1\.1\.0$/);
      },
    });
    expect(outcome.kills).toBeGreaterThanOrEqual(10);
    expect(outcome.resumedAt.filter((step) => step > 0).length).toBeGreaterThan(0);
    for (const run of outcome.finished.filter((r) => r.code === 0)) expect(run.runFolders).toEqual([]);
    const reference = JSON.parse(outcome.reference.stdout);
    expect(reference.version).toBe('1.1.0');
    const expected = await published(outcome.reference.registry, adapters);
    expect(Object.keys(expected.digests)).toEqual(adapters.map((a) => `${a}@1.1.0`));
    for (const run of outcome.finished) {
      const result = JSON.parse(run.stdout);
      expect(result.version).toBe(reference.version);
      expect(result.links).toEqual(reference.links);
      expect(await published(run.registry, adapters)).toEqual(expected);
    }
  }, 900_000);
});

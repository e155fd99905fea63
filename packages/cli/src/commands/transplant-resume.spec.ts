import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { killAndResumeCli as killAndResume } from '../testing/cli-process';
import { publishTinySpecifics } from '../testing/tiny-classifiers';

let dir: string;
let template: string;
let copies = 0;

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-resume-'));
  template = join(dir, 'template');
  await publishTinySpecifics(template, ['bird', 'cat'], 'cpu');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const fresh = async () => {
  const copy = join(dir, `registry-${copies++}`);
  await cp(template, copy, { recursive: true });
  return copy;
};

/** The published adapter's and network's versions and digests: what a resumed run must reproduce. */
async function published(location: string) {
  const registry = new Registry(new FolderStore(location));
  const adapter = await registry.manifest('cat-cls-via-bird-adapter@1.0.0');
  const network = await registry.manifest('cat-cls-via-bird@1.0.0');
  return {
    adapterVersions: Object.keys((await registry.index('cat-cls-via-bird-adapter')).versions),
    networkVersions: Object.keys((await registry.index('cat-cls-via-bird')).versions),
    weights: adapter.manifest.weights.digest,
    pins: network.manifest.dependencies
      .map((d) => `${d.name}@${d.pinned?.version}=${d.pinned?.digest}`)
      .sort(),
  };
}

describe('transplant killed with SIGKILL at random points', () => {
  it('leaves the registry valid after every kill, and the rerun resumes to the uninterrupted result, bit for bit', async () => {
    const reports = join(dir, 'reports');
    const outcome = await killAndResume({
      args: ['transplant', '--from', 'bird-cls', '--to', 'cat-seg', '--steps', '200', '--reports', reports],
      kills: 10,
      seed: 7,
      freshRegistry: fresh,
      afterKill: async (location) => {
        const registry = new Registry(new FolderStore(location));
        // Every version visible is whole: manifests, blobs and digests check out.
        expect((await registry.verify()).problems).toEqual([]);
        // A network version is never there without its adapter (at most the adapter is, which the rerun adopts).
        const names = await registry.store.listNames();
        if (names.includes('cat-cls-via-bird')) expect(names).toContain('cat-cls-via-bird-adapter');
        // Published at most once: a kill never leaves a second version behind.
        for (const name of names.filter((n) => n.startsWith('cat-cls-via-bird')))
          expect(Object.keys((await registry.index(name)).versions)).toEqual(['1.0.0']);
      },
    });
    expect(outcome.kills).toBeGreaterThanOrEqual(10);
    // Some runs were killed in training and later ones resumed from a checkpoint, not from step 0.
    expect(outcome.resumedAt.filter((step) => step > 0).length).toBeGreaterThan(0);
    const reference = JSON.parse(outcome.reference.stdout);
    const expected = await published(outcome.reference.registry);
    expect(expected.adapterVersions).toEqual(['1.0.0']);
    for (const run of outcome.finished) {
      const result = JSON.parse(run.stdout);
      for (const key of ['network', 'version', 'metric', 'finalLoss', 'annotatedImages'] as const)
        expect(result[key]).toEqual(reference[key]);
      expect(await published(run.registry)).toEqual(expected);
    }
    // A run that finished (not one killed after it printed) leaves no run folder behind.
    for (const run of outcome.finished.filter((r) => r.code === 0)) expect(run.runFolders).toEqual([]);
    expect(await readdir(reports)).not.toHaveLength(0);
  }, 600_000);
});

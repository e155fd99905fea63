import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStore } from './folder/folder-store';
import { Registry } from './registry';
import { adapterFixture, moduleFixture } from './testing/module-fixture';
import { codeOf, folderHarness, operationSuite } from './testing/operation-suite';
import { copyModule } from './copy-module';

let registry: Registry;

operationSuite('folder', folderHarness);

describe('folder-only behaviour', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'transplant-registry-'));
    registry = new Registry(new FolderStore(root));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('gc removes only unreferenced blobs past the grace period', async () => {
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    const orphan = moduleFixture({ name: 'cat-vgg', version: '9.0.0', seed: 99 });
    const digest = (orphan.manifest['weights'] as { digest: string }).digest;
    await registry.store.putBlob('cat-vgg', orphan.weights, digest);
    expect((await registry.verify()).problems).toEqual([]);
    expect((await registry.gc({ graceMs: 60_000 })).deleted).toEqual([]); // too young to collect
    expect((await registry.gc({ graceMs: 0 })).deleted).toEqual([digest]);
    expect(await registry.verify()).toMatchObject({ modules: 1, versions: 1, blobs: 2, problems: [] });
    await registry.fetch('cat-vgg@1.0.0');
  });

  it('a damaged index is reported, never trusted', async () => {
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    const dir = join(root, 'modules', 'cat-vgg');
    const [file] = await readdir(dir);
    await writeFile(
      join(dir, file!),
      '{"format": "transplant.module-index", "formatVersion": 1, "name": "dog"}',
    );
    expect(await codeOf(registry.resolve('cat-vgg'))).toBe('E_REGISTRY_CORRUPT');
  });
});

describe('copying modules between registries', () => {
  it('copies a module with its pinned dependencies, digests unchanged, and is idempotent', async () => {
    const a = await folderHarness();
    const b = await folderHarness();
    await a.registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    await a.registry.publish(moduleFixture({ name: 'animal-cls', version: '2.1.0', kind: 'task' }));
    const cat = await a.registry.resolve('cat-vgg@1.0.0');
    const task = await a.registry.resolve('animal-cls@2.1.0');
    await a.registry.publish(
      adapterFixture({
        category: { version: '1.0.0', digest: cat.entry.weightsDigest },
        task: { version: '2.1.0', digest: task.entry.weightsDigest },
      }),
    );
    expect(await copyModule(a.registry, b.registry, 'cat-to-animal')).toEqual({
      copied: ['cat-vgg@1.0.0', 'animal-cls@2.1.0', 'cat-to-animal@1.0.0'],
      present: [],
    });
    expect((await b.registry.resolve('cat-to-animal')).entry.weightsDigest).toBe(
      (await a.registry.resolve('cat-to-animal')).entry.weightsDigest,
    );
    expect((await copyModule(a.registry, b.registry, 'cat-to-animal')).copied).toEqual([]);
    await a.cleanup();
    await b.cleanup();
  });
});

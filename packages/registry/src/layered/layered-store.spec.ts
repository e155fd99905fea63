import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../folder/folder-store';
import { openStore } from '../open-store';
import { Registry } from '../registry';
import { adapterFixture, moduleFixture, orphanAdapterFixture } from '../testing/module-fixture';
import { codeOf, operationSuite, snapshotFolder, type Harness } from '../testing/operation-suite';
import { LayeredStore } from './layered-store';

/** The whole operation suite on a writable folder over an empty read-only one. */
async function layeredHarness(): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), 'transplant-layered-'));
  const lower = new FolderStore(join(base, 'zoo'));
  await lower.init();
  const registry = new Registry(new LayeredStore(new FolderStore(join(base, 'user')), lower));
  return {
    registry,
    snapshot: async () => ({
      user: await snapshotFolder(join(base, 'user')),
      zoo: await snapshotFolder(join(base, 'zoo')),
    }),
    damage: async (digest, how) => {
      const path = join(base, 'user', 'blobs', 'sha256', digest.slice(7));
      if (how === 'remove') return rm(path);
      const bytes = await readFile(path);
      bytes[bytes.length >> 1]! ^= 0x20;
      await writeFile(path, bytes);
    },
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

operationSuite('layered', layeredHarness);

describe('a writable registry over a read-only zoo', () => {
  let base: string;
  let zooDir: string;
  let userDir: string;
  let registry: Registry;
  let zooBefore: Record<string, string>;
  const digestOf = (m: { manifest: Record<string, unknown> }) =>
    (m.manifest['weights'] as { digest: string }).digest;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'transplant-layered-'));
    zooDir = join(base, 'zoo');
    userDir = join(base, 'data', 'transplant', 'registry');
    const zoo = new Registry(new FolderStore(zooDir));
    await zoo.store.init!();
    for (const version of ['1.0.0', '1.1.0'])
      await zoo.publish(
        moduleFixture({ name: 'cat-vgg', version, seed: version.length + Number(version[2]) }),
      );
    await zoo.publish(moduleFixture({ name: 'animal-cls', version: '1.0.0', kind: 'task' }));
    // A blob no zoo index references (the committed zoo has had some): never the user's to delete.
    const stray = moduleFixture({ name: 'cat-vgg', version: '7.0.0', seed: 77 });
    await zoo.store.putBlob('cat-vgg', stray.weights, digestOf(stray));
    zooBefore = await snapshotFolder(zooDir);
    // As the installed CLI opens its default: the user's folder may not exist yet.
    registry = new Registry(await openStore(userDir, {}, undefined, { create: true, readThrough: zooDir }));
  });

  afterEach(async () => {
    // Whatever a test did, the zoo is as it was.
    expect(await snapshotFolder(zooDir)).toEqual(zooBefore);
    await rm(base, { recursive: true, force: true });
  });

  it('reads the zoo without creating the writable folder', async () => {
    expect(registry.store.location).toBe(`folder:${userDir} over folder:${zooDir}`);
    expect((await registry.resolve('cat-vgg')).version).toBe('1.1.0');
    expect((await registry.fetch('cat-vgg@1.0.0')).manifest.version).toBe('1.0.0');
    expect(await registry.list()).toEqual([
      { name: 'animal-cls', latest: '1.0.0', versions: 1, kind: 'task' },
      { name: 'cat-vgg', latest: '1.1.0', versions: 2, kind: 'category' },
    ]);
    expect((await registry.verify()).problems).toEqual([]);
    expect(existsSync(userDir)).toBe(false);
  });

  it('publishes into the writable registry only, and reads both', async () => {
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.2.0', seed: 9 }));
    await registry.publish(moduleFixture({ name: 'dog-vgg', version: '1.0.0', seed: 3 }));
    expect((await registry.resolve('cat-vgg')).version).toBe('1.2.0');
    expect(Object.keys((await registry.index('cat-vgg')).versions).sort()).toEqual([
      '1.0.0',
      '1.1.0',
      '1.2.0',
    ]);
    expect((await registry.list()).map((m) => [m.name, m.latest, m.versions])).toEqual([
      ['animal-cls', '1.0.0', 1],
      ['cat-vgg', '1.2.0', 3],
      ['dog-vgg', '1.0.0', 1],
    ]);
    // The writable registry alone holds exactly what was published into it.
    const user = new Registry(new FolderStore(userDir));
    expect(Object.keys((await user.index('cat-vgg')).versions)).toEqual(['1.2.0']);
    expect((await user.resolve('cat-vgg@latest')).version).toBe('1.2.0');
    expect((await user.verify()).problems).toEqual([]);
    expect(await registry.verify()).toMatchObject({ modules: 3, versions: 5, problems: [] });
  });

  it('never publishes a version the zoo holds again, and a failed publish leaves both as they were', async () => {
    const zooAgain = moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 42 });
    expect(await codeOf(registry.publish(zooAgain))).toBe('E_VERSION_EXISTS');
    expect(await codeOf(registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' })))).toBe(
      'E_VERSION_EXISTS',
    );
    expect(await codeOf(registry.publish(orphanAdapterFixture()))).toBe('E_DEPENDENCY_MISSING');
    const bad = moduleFixture({ name: 'cat-vgg', version: '1.3.0' });
    expect(await codeOf(registry.publish({ ...bad, weights: bad.weights.slice(1) }))).toBe(
      'E_DIGEST_MISMATCH',
    );
    expect(existsSync(userDir)).toBe(false);

    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.2.0', seed: 9 }));
    const userBefore = await snapshotFolder(userDir);
    expect(await codeOf(registry.publish(zooAgain))).toBe('E_VERSION_EXISTS');
    expect(await codeOf(registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.2.0' })))).toBe(
      'E_VERSION_EXISTS',
    );
    expect(await snapshotFolder(userDir)).toEqual(userBefore);
  });

  it('publishes an adapter whose pinned modules are in the zoo', async () => {
    const cat = await registry.resolve('cat-vgg@1.1.0');
    const head = await registry.resolve('animal-cls@1.0.0');
    const adapter = adapterFixture({
      category: { version: '1.1.0', digest: cat.entry.weightsDigest },
      task: { version: '1.0.0', digest: head.entry.weightsDigest },
    });
    const published = await registry.publish(adapter);
    expect((await registry.fetch(`${published.name}@${published.version}`)).manifest.kind).toBe('adapter');
  });

  it("records a yank or an attachment of a zoo version above it, leaving the zoo's files alone", async () => {
    await registry.setYanked('cat-vgg', '1.1.0', { yanked: true });
    expect((await registry.resolve('cat-vgg')).version).toBe('1.0.0');
    expect((await new Registry(new FolderStore(zooDir)).resolve('cat-vgg')).version).toBe('1.1.0');
    const graph = new TextEncoder().encode('a mined graph');
    await registry.attach('cat-vgg@1.0.0', { kind: 'explanatory-graph', bytes: graph });
    expect(Buffer.from((await registry.attachment('cat-vgg@1.0.0', 'explanatory-graph')).bytes)).toEqual(
      Buffer.from(graph),
    );
    await registry.setYanked('cat-vgg', '1.1.0', { yanked: false });
    expect((await registry.resolve('cat-vgg')).version).toBe('1.1.0');
    // The versions recorded above reference the zoo's blobs, which the writable registry does not copy.
    const user = await snapshotFolder(userDir);
    const zoo = moduleFixture({ name: 'cat-vgg', version: '1.0.0', seed: 5 });
    expect(Object.keys(user)).not.toContain(`/blobs/sha256/${digestOf(zoo).slice(7)}`);
    expect((await registry.verify()).problems).toEqual([]);
  });

  it('gc removes only unreferenced blobs of the writable registry', async () => {
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.2.0', seed: 9 }));
    const orphan = moduleFixture({ name: 'cat-vgg', version: '9.0.0', seed: 99 });
    await registry.store.putBlob('cat-vgg', orphan.weights, digestOf(orphan));
    expect((await registry.gc({ graceMs: 0 })).deleted).toEqual([digestOf(orphan)]);
    expect(await registry.verify()).toMatchObject({ versions: 4, problems: [] });
  });

  it('refuses to delete a zoo blob, and to drop a zoo version from the index', async () => {
    const store = registry.store as LayeredStore;
    const zooDigest = (await registry.resolve('cat-vgg@1.0.0')).entry.weightsDigest;
    expect(await codeOf(store.deleteBlob(zooDigest))).toBe('E_REGISTRY_READ_ONLY');
    expect(
      await codeOf(
        store.updateIndex('cat-vgg', (current) => ({
          ...current!,
          versions: { '1.1.0': current!.versions['1.1.0']! },
        })),
      ),
    ).toBe('E_REGISTRY_READ_ONLY');
  });

  it('reads a version recorded in both as the writable one', async () => {
    const mine = moduleFixture({ name: 'cow-vgg', version: '1.0.0', seed: 1 });
    await registry.publish(mine);
    const zoo = new Registry(new FolderStore(zooDir));
    await zoo.publish(moduleFixture({ name: 'cow-vgg', version: '1.0.0', seed: 2 }));
    zooBefore = await snapshotFolder(zooDir);
    expect((await registry.resolve('cow-vgg@1.0.0')).entry.weightsDigest).toBe(digestOf(mine));
  });

  it('opens only a zoo that exists', async () => {
    expect(
      await codeOf(openStore(userDir, {}, undefined, { create: true, readThrough: join(base, 'none') })),
    ).toBe('E_REGISTRY_NOT_FOUND');
  });
});

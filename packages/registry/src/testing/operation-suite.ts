/**
 * The registry operation suite, run against every store kind (folder, OCI) by the spec files.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { bytesSource, type BlobSource } from '../blob-source';
import { FolderStore } from '../folder/folder-store';
import { readLockfile, recordInLockfile } from '../lockfile';
import { writeModuleFolder } from '../module-folder';
import { Registry } from '../registry';
import { adapterFixture, moduleFixture, orphanAdapterFixture } from './module-fixture';

/** One store under test: the same operation suite runs on the folder store and on a real OCI registry. */
export interface Harness {
  readonly registry: Registry;
  /** The visible state; "unchanged" means equal snapshots. */
  snapshot(): Promise<unknown>;
  /** Flips a byte in the stored blob, or removes it. */
  damage(digest: string, how: 'flip' | 'remove'): Promise<void>;
  cleanup(): Promise<void>;
}

let registry: Registry;
let harness: Harness;

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return isTransplantError(error) ? error.code : `uncoded: ${String(error)}`;
  }
}

/**
 * Every file of a folder (keys `/relative/path`) with its bytes' hash: equal snapshots prove the
 * folder was left byte for byte as it was; a folder that does not exist is empty.
 */
export async function snapshotFolder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[p.slice(dir.length)] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

export async function folderHarness(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'transplant-registry-'));
  const registry = new Registry(new FolderStore(root));
  return {
    registry,
    snapshot: () => snapshotFolder(root),
    damage: async (digest, how) => {
      const path = join(root, 'blobs', 'sha256', digest.slice(7));
      if (how === 'remove') return rm(path);
      const bytes = await readFile(path);
      bytes[bytes.length >> 1]! ^= 0x20;
      await writeFile(path, bytes);
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export function operationSuite(kind: string, makeHarness: () => Promise<Harness>): void {
  beforeEach(async () => {
    harness = await makeHarness();
    registry = harness.registry;
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  describe(`${kind} registry operations`, () => {
    it('publishes, resolves ranges and tags, fetches verified bytes, lists and shows info', async () => {
      for (const v of ['1.0.0', '1.2.0', '1.3.1', '2.0.0-rc.1'])
        await registry.publish(moduleFixture({ name: 'cat-vgg', version: v, seed: v.length }));
      expect((await registry.resolve('cat-vgg@^1.2')).version).toBe('1.3.1');
      expect((await registry.resolve('cat-vgg')).version).toBe('1.3.1');
      expect((await registry.resolve('cat-vgg@2.0.0-rc.1')).version).toBe('2.0.0-rc.1');
      expect(await codeOf(registry.resolve('cat-vgg@^3'))).toBe('E_VERSION_NOT_FOUND');
      expect(await codeOf(registry.resolve('dog-vgg'))).toBe('E_MODULE_NOT_FOUND');
      const fetched = await registry.fetch('cat-vgg@1.2.0');
      const original = moduleFixture({ name: 'cat-vgg', version: '1.2.0', seed: 5 });
      expect(Buffer.from(fetched.weights).equals(Buffer.from(original.weights))).toBe(true);
      expect(fetched.manifest.version).toBe('1.2.0');
      expect(await registry.list()).toEqual([
        { name: 'cat-vgg', latest: '1.3.1', versions: 4, kind: 'category' },
      ]);
      expect(Object.keys((await registry.index('cat-vgg')).versions)).toHaveLength(4);
    });

    it('yank hides a version from ranges and tags but not from an exact pin, which warns', async () => {
      for (const v of ['1.0.0', '1.1.0'])
        await registry.publish(moduleFixture({ name: 'cat-vgg', version: v }));
      await registry.setYanked('cat-vgg', '1.1.0', { yanked: true });
      expect((await registry.resolve('cat-vgg@^1')).version).toBe('1.0.0');
      expect((await registry.resolve('cat-vgg@latest')).version).toBe('1.0.0');
      const pinned = await registry.resolve('cat-vgg@1.1.0');
      expect(pinned.version).toBe('1.1.0');
      expect(pinned.warning).toContain('yanked');
      await registry.setYanked('cat-vgg', '1.1.0', { yanked: false });
      expect((await registry.resolve('cat-vgg@latest')).version).toBe('1.1.0');
      expect(await codeOf(registry.setYanked('cat-vgg', '9.9.9', { yanked: true }))).toBe(
        'E_VERSION_NOT_FOUND',
      );
    });

    it('attaches an artifact to a version, reads it back verified, refuses to overwrite it silently, and keeps it through gc', async () => {
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 4 }));
      const graph = new TextEncoder().encode('a mined graph');
      const attached = await registry.attach('cat-vgg@1.0.0', { kind: 'explanatory-graph', bytes: graph });
      expect(attached).toMatchObject({ name: 'cat-vgg', version: '1.0.0' });
      const read = await registry.attachment('cat-vgg@1.0.0', 'explanatory-graph');
      expect(new TextDecoder().decode(read.bytes)).toBe('a mined graph');
      expect(read.digest).toBe(attached.digest);
      // Only that version has it; the index still resolves and lists as before.
      expect(await codeOf(registry.attachment('cat-vgg@1.1.0', 'explanatory-graph'))).toBe(
        'E_MODULE_NOT_FOUND',
      );
      expect((await registry.resolve('cat-vgg')).version).toBe('1.1.0');
      const other = new TextEncoder().encode('another graph');
      expect(
        await codeOf(registry.attach('cat-vgg@1.0.0', { kind: 'explanatory-graph', bytes: other })),
      ).toBe('E_VERSION_EXISTS');
      expect(
        new TextDecoder().decode((await registry.attachment('cat-vgg@1.0.0', 'explanatory-graph')).bytes),
      ).toBe('a mined graph');
      const replaced = await registry.attach('cat-vgg@1.0.0', {
        kind: 'explanatory-graph',
        bytes: other,
        replace: true,
      });
      expect(replaced.replaced).toBe(attached.digest);
      expect(
        new TextDecoder().decode((await registry.attachment('cat-vgg@1.0.0', 'explanatory-graph')).bytes),
      ).toBe('another graph');
      expect(await codeOf(registry.attach('cat-vgg@1.0.0', { kind: 'Bad Kind', bytes: other }))).toBe(
        'E_INVALID_ARGUMENT',
      );
      expect(
        await codeOf(registry.attach('dog-vgg@1.0.0', { kind: 'explanatory-graph', bytes: other })),
      ).toBe('E_MODULE_NOT_FOUND');
      expect(await registry.verify()).toMatchObject({ versions: 2, problems: [] });
      if ((await registry.store.listBlobs()) !== undefined) {
        // gc keeps the live attachment and collects the replaced one.
        const { deleted } = await registry.gc({ graceMs: 0 });
        expect(deleted).toEqual([attached.digest]);
        expect(
          new TextDecoder().decode((await registry.attachment('cat-vgg@1.0.0', 'explanatory-graph')).bytes),
        ).toBe('another graph');
      }
    });

    it('verify is clean after publishing', async () => {
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.1', seed: 4 }));
      expect(await registry.verify()).toMatchObject({ modules: 1, versions: 2, problems: [] });
    });

    it('pins resolutions in a lockfile, which later resolutions follow', async () => {
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
      const lockDir = await mkdtemp(join(tmpdir(), 'transplant-lock-'));
      const lockPath = join(lockDir, 'transplant.lock.json');
      const first = await registry.resolve('cat-vgg@^1');
      await recordInLockfile(lockPath, [{ ref: 'cat-vgg@^1', resolved: first }], {
        generatedBy: 'transplant/0.1.0',
        registry: registry.store.location,
      });
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.5.0', seed: 3 }));
      const lock = await readLockfile(lockPath);
      const again = await registry.resolve('cat-vgg@^1', lock);
      expect(again).toMatchObject({ version: '1.0.0', fromLockfile: true });
      expect((await registry.resolve('cat-vgg@^1')).version).toBe('1.5.0');
      expect((await registry.fetch('cat-vgg@^1', lock)).manifest.version).toBe('1.0.0');
      await writeFile(lockPath, '{"lockfileVersion": 1, "modules": {"x@1": {"version": "1"}}}');
      expect(await codeOf(readLockfile(lockPath))).toBe('E_LOCKFILE_INVALID');
      await rm(lockDir, { recursive: true });
    });
  });

  describe('bad input changes nothing', () => {
    beforeEach(async () => {
      await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
      await registry.publish(moduleFixture({ name: 'animal-cls', version: '2.1.0', kind: 'task' }));
    });

    const cases: [
      string,
      () => { manifest: Record<string, unknown>; weights: Uint8Array | BlobSource },
      string,
    ][] = [
      ['a path-like name', () => moduleFixture({ name: '../x', version: '1.0.0' }), 'E_MANIFEST_INVALID'],
      ['a name with a slash', () => moduleFixture({ name: 'a/b', version: '1.0.0' }), 'E_MANIFEST_INVALID'],
      ['an upper-case name', () => moduleFixture({ name: 'CatVgg', version: '1.0.0' }), 'E_MANIFEST_INVALID'],
      ['an empty name', () => moduleFixture({ name: '', version: '1.0.0' }), 'E_MANIFEST_INVALID'],
      ['an invalid semver', () => moduleFixture({ name: 'cat-vgg', version: '1.0' }), 'E_MANIFEST_INVALID'],
      [
        'an unknown manifest field',
        () => ({
          ...moduleFixture({ name: 'cat-vgg', version: '1.1.0' }),
          manifest: { ...moduleFixture({ name: 'cat-vgg', version: '1.1.0' }).manifest, colour: 'red' },
        }),
        'E_MANIFEST_INVALID',
      ],
      [
        'weights that do not match the digest',
        () => ({
          ...moduleFixture({ name: 'cat-vgg', version: '1.1.0' }),
          weights: moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 7 }).weights,
        }),
        'E_DIGEST_MISMATCH',
      ],
      [
        'streamed weights that do not match the digest (found by the store while it writes)',
        () => ({
          ...moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 3 }),
          weights: bytesSource(moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 7 }).weights, 50),
        }),
        'E_DIGEST_MISMATCH',
      ],
      [
        'streamed weights that do not match a digest the store already holds',
        () => ({
          ...moduleFixture({ name: 'cat-vgg', version: '1.1.0' }),
          weights: bytesSource(moduleFixture({ name: 'cat-vgg', version: '1.1.0', seed: 7 }).weights, 50),
        }),
        'E_DIGEST_MISMATCH',
      ],
      [
        'a republished version',
        () => moduleFixture({ name: 'cat-vgg', version: '1.0.0', seed: 1 }),
        'E_VERSION_EXISTS',
      ],
      ['an adapter whose pinned modules are missing', orphanAdapterFixture, 'E_DEPENDENCY_MISSING'],
    ];

    it.each(cases)(
      'refuses %s with a coded error and leaves the store as it was',
      async (_what, make, code) => {
        const before = await harness.snapshot();
        expect(await codeOf(registry.publish(make()))).toBe(code);
        expect(await harness.snapshot()).toEqual(before);
      },
    );

    it('lists every missing dependency', async () => {
      const adapter = orphanAdapterFixture();
      try {
        await registry.publish(adapter);
        expect.unreachable();
      } catch (error) {
        expect(isTransplantError(error, 'E_DEPENDENCY_MISSING')).toBe(true);
        expect((error as { details: string[] }).details).toHaveLength(2);
      }
    });

    it('accepts an adapter whose pinned modules are present', async () => {
      const cat = await registry.resolve('cat-vgg@1.0.0');
      const task = await registry.resolve('animal-cls@2.1.0');
      const adapter = adapterFixture({
        category: { version: '1.0.0', digest: cat.entry.weightsDigest },
        task: { version: '2.1.0', digest: task.entry.weightsDigest },
      });
      expect((await registry.publish(adapter)).version).toBe('1.0.0');
    });
  });

  describe(`${kind} streams`, () => {
    it('publishes streamed weights and streams them back, checked at the end of the stream', async () => {
      const module = moduleFixture({ name: 'cat-vgg', version: '1.0.0', values: 5000 });
      const { weightsDigest } = await registry.publish({
        manifest: module.manifest,
        weights: bytesSource(module.weights, 999),
      });
      const opened = await registry.openWeights('cat-vgg@1.0.0');
      expect(opened.weights.size).toBe(module.weights.byteLength);
      const chunks: Uint8Array[] = [];
      for await (const chunk of opened.weights.chunks()) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(Buffer.from(module.weights))).toBe(true);
      expect(
        Buffer.from((await registry.fetch('cat-vgg@1.0.0')).weights).equals(Buffer.from(module.weights)),
      ).toBe(true);

      await harness.damage(weightsDigest, 'flip');
      const damaged = await registry.openWeights('cat-vgg@1.0.0');
      let read = 0;
      const error = await (async () => {
        for await (const chunk of damaged.weights.chunks()) read += chunk.byteLength;
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      // Every byte is delivered, then the stream refuses: a consumer commits only after the end.
      expect(read).toBe(module.weights.byteLength);
      expect(isTransplantError(error, 'E_DIGEST_MISMATCH')).toBe(true);
      expect(String(error)).toContain('cat-vgg@1.0.0');

      // Fetched into a module folder, the damaged stream leaves nothing behind.
      const parent = await mkdtemp(join(tmpdir(), 'transplant-fetch-'));
      try {
        const written = await writeModuleFolder(
          join(parent, 'cat-vgg'),
          await registry.openWeights('cat-vgg@1.0.0'),
        ).then(
          () => 'written',
          (e: unknown) => (isTransplantError(e) ? e.code : String(e)),
        );
        expect(written).toBe('E_DIGEST_MISMATCH');
        expect(await readdir(parent)).toEqual([]);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });

  describe(`${kind} corruption`, () => {
    it('a flipped byte in a blob makes fetch and verify report E_DIGEST_MISMATCH naming the module version', async () => {
      const { weightsDigest } = await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
      await harness.damage(weightsDigest, 'flip');
      try {
        await registry.fetch('cat-vgg@1.0.0');
        expect.unreachable();
      } catch (error) {
        expect(isTransplantError(error, 'E_DIGEST_MISMATCH')).toBe(true);
        expect(String(error)).toContain('cat-vgg@1.0.0');
      }
      expect((await registry.verify()).problems).toEqual([
        { module: 'cat-vgg@1.0.0', digest: weightsDigest, problem: 'corrupt' },
      ]);
      await harness.damage(weightsDigest, 'remove');
      expect((await registry.verify()).problems).toEqual([
        { module: 'cat-vgg@1.0.0', digest: weightsDigest, problem: 'missing' },
      ]);
    });
  });
}

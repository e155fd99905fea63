import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { CachedStore } from '../cache/cached-store';
import { readLockfile, recordInLockfile } from '../lockfile';
import { openStore } from '../open-store';
import { Registry } from '../registry';
import { startLocalRegistry, type LocalRegistry } from '../testing/local-oci-registry';
import { moduleFixture } from '../testing/module-fixture';
import { codeOf, operationSuite, type Harness } from '../testing/operation-suite';
import { OciStore, parseOciLocation } from './oci-store';

const USER = 'transplant';
const PASSWORD = 's3cret-never-printed';
let server: LocalRegistry;
const env = { TRANSPLANT_REGISTRY_USERNAME: USER, TRANSPLANT_REGISTRY_PASSWORD: PASSWORD };

beforeAll(async () => {
  server = await startLocalRegistry({ [USER]: PASSWORD });
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

/** A fresh namespace and blob cache per test, on the one registry server. */
async function ociHarness(): Promise<Harness> {
  const cache = await mkdtemp(join(tmpdir(), 'transplant-cache-'));
  const location = `${server.location}-${randomUUID().slice(0, 8)}`;
  const store = await openStore(location, { ...env, TRANSPLANT_CACHE: cache });
  const registry = new Registry(store);
  return {
    registry,
    snapshot: async () => {
      const names = await store.listNames();
      return Promise.all(names.map(async (n) => [n, await store.readIndex(n)]));
    },
    damage: async (digest, how) => {
      const hex = digest.slice(7);
      const path = join(
        server.dataDir,
        'docker',
        'registry',
        'v2',
        'blobs',
        'sha256',
        hex.slice(0, 2),
        hex,
        'data',
      );
      const { readFile } = await import('node:fs/promises');
      if (how === 'remove') return rm(path);
      const bytes = await readFile(path);
      bytes[bytes.length >> 1]! ^= 0x20;
      await writeFile(path, bytes);
    },
    cleanup: () => rm(cache, { recursive: true, force: true }),
  };
}

operationSuite('oci', ociHarness);

describe('OCI back end', () => {
  it('stores a version as an OCI artifact: the manifest as config, the weights as the layer, the version as the tag', async () => {
    const h = await ociHarness();
    const published = await h.registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.2.3+build.7' }));
    const { base, namespace } = parseOciLocation(h.registry.store.location);
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const tags = await fetch(`${base}/v2/${namespace}/cat-vgg/tags/list`, {
      headers: { authorization: auth },
    }).then((r) => r.json() as Promise<{ tags: string[] }>);
    expect(tags.tags).toContain('1.2.3_build.7');
    const manifest = await fetch(`${base}/v2/${namespace}/cat-vgg/manifests/1.2.3_build.7`, {
      headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json' },
    }).then((r) => r.json() as Promise<{ config: unknown; layers: unknown[] }>);
    expect(manifest.config).toMatchObject({
      mediaType: 'application/vnd.transplant.module.manifest.v1+json',
      digest: published.manifestDigest,
    });
    expect(manifest.layers).toEqual([expect.objectContaining({ digest: published.weightsDigest })]);
    expect((await h.registry.resolve('cat-vgg@^1')).version).toBe('1.2.3+build.7');
    await h.cleanup();
  });

  it('refuses missing or wrong credentials with E_AUTH, writes nothing and never prints the password', async () => {
    const location = `${server.location}-auth`;
    for (const credentials of [undefined, { username: USER, password: 'wrong' }]) {
      const registry = new Registry(new OciStore(location, credentials));
      try {
        await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
        expect.unreachable();
      } catch (error) {
        expect(isTransplantError(error, 'E_AUTH')).toBe(true);
        expect(String(error)).not.toContain(PASSWORD);
        expect(String(error)).not.toContain('wrong');
      }
    }
    const reader = new Registry(new OciStore(location, { username: USER, password: PASSWORD }));
    expect(await codeOf(reader.resolve('cat-vgg'))).toBe('E_MODULE_NOT_FOUND');
    expect(await codeOf(openStore('oci://user:pw@127.0.0.1:1/x', {}))).toBe('E_REGISTRY_LOCATION_INVALID');
  });

  it('says the registry is unreachable, with a code', async () => {
    const registry = new Registry(new OciStore('oci://127.0.0.1:9/none', undefined));
    expect(await codeOf(registry.resolve('cat-vgg'))).toBe('E_REGISTRY_UNREACHABLE');
  });

  it('an upload interrupted half-way (client killed) leaves no tag; the next publish succeeds', async () => {
    const location = `${server.location}-killed`;
    const publisher = fileURLToPath(new URL('../testing/publisher.ts', import.meta.url));
    const cache = await mkdtemp(join(tmpdir(), 'transplant-cache-'));
    const child = spawn(process.execPath, ['--import', 'tsx', publisher, location, 'big-vgg', '1.0.0'], {
      env: { ...process.env, ...env, TRANSPLANT_CACHE: cache, PUBLISHER_VALUES: String(12_000_000) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => d.toString().includes('start') && resolve()),
    );
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const registry = new Registry(await openStore(location, { ...env, TRANSPLANT_CACHE: cache }));
    expect(await codeOf(registry.resolve('big-vgg@1.0.0'))).toBe('E_MODULE_NOT_FOUND');
    expect(
      (await registry.publish(moduleFixture({ name: 'big-vgg', version: '1.0.0', values: 1000 }))).version,
    ).toBe('1.0.0');
    await rm(cache, { recursive: true, force: true });
  }, 60_000);

  it('serves 50 concurrent readers while 4 publishers publish 3 versions each, every response verified', async () => {
    const h = await ociHarness();
    for (let i = 0; i < 5; i++)
      await h.registry.publish(moduleFixture({ name: 'cat-vgg', version: `1.0.${i}`, seed: i }));
    let reads = 0;
    let publishing = true;
    const publishers = Promise.all(
      Array.from({ length: 4 }, async (_, p) => {
        for (let i = 0; i < 3; i++)
          await h.registry.publish(moduleFixture({ name: `pub-${p}`, version: `1.0.${i}`, seed: i }));
      }),
    ).finally(() => (publishing = false));
    // Readers share no cache: each reads through the registry until the publishers are done
    // (and at least twice each), so the two overlap however loaded the machine is.
    const readers = Array.from({ length: 50 }, async (_, r) => {
      const registry = new Registry(
        new OciStore(h.registry.store.location, { username: USER, password: PASSWORD }),
      );
      for (let own = 0; publishing || own < 2; own++) {
        const f = await registry.fetch(`cat-vgg@1.0.${(r + reads) % 5}`);
        expect(f.manifest.name).toBe('cat-vgg');
        reads++;
      }
    });
    await Promise.all([...readers, publishers]);
    expect(reads).toBeGreaterThanOrEqual(100);
    for (let p = 0; p < 4; p++)
      expect(Object.keys((await h.registry.index(`pub-${p}`)).versions)).toHaveLength(3);
    expect((await h.registry.verify()).problems).toEqual([]);
    await h.cleanup();
  }, 120_000);

  it('with a lockfile and cached blobs, a run works with the registry stopped', async () => {
    const own = await startLocalRegistry({ [USER]: PASSWORD });
    const cache = await mkdtemp(join(tmpdir(), 'transplant-cache-'));
    const store = await openStore(own.location, { ...env, TRANSPLANT_CACHE: cache });
    expect(store).toBeInstanceOf(CachedStore);
    const registry = new Registry(store);
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    const lockPath = join(cache, 'transplant.lock.json');
    const resolved = await registry.resolve('cat-vgg@^1');
    await recordInLockfile(lockPath, [{ ref: 'cat-vgg@^1', resolved }], {
      generatedBy: 'transplant/0.1.0',
      registry: own.location,
    });
    await registry.fetch(resolved);
    await own.stop();
    expect(await codeOf(registry.resolve('cat-vgg@^1'))).toBe('E_REGISTRY_UNREACHABLE');
    const offline = await registry.fetch('cat-vgg@^1', await readLockfile(lockPath));
    expect(offline.manifest.version).toBe('1.0.0');
    await rm(cache, { recursive: true, force: true });
  }, 60_000);
});

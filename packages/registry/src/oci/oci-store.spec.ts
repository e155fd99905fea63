import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { bytesSource, digestOf } from '../blob-source';
import { CachedStore } from '../cache/cached-store';
import { readLockfile, recordInLockfile } from '../lockfile';
import { openStore } from '../open-store';
import { Registry } from '../registry';
import { startLocalRegistry, type LocalRegistry } from '../testing/local-oci-registry';
import { moduleFixture } from '../testing/module-fixture';
import { codeOf, operationSuite, type Harness } from '../testing/operation-suite';
import { OciStore, ociStoreOptions, parseOciLocation } from './oci-store';

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
      // The client's blob cache holds verified copies: clear it so readers meet the damage.
      await rm(join(cache, 'blobs'), { recursive: true, force: true });
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
    const registry = new Registry(
      new OciStore('oci://127.0.0.1:9/none', undefined, fetch, { retryBaseMs: 1 }),
    );
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

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** One request the store made, and what came back (filled in once it did). */
interface Call {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly bytes: number;
  status?: number;
  location?: string | null;
}
type Hook = (call: Call, forward: () => Promise<Response>) => Promise<Response>;

/** The real fetch, with every call recorded and a hook to fail, drop or alter it. */
function tap(hook: Hook = (_, forward) => forward()): { http: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const http = (async (input: string | URL | Request, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      // Big bodies go as one-chunk streams with their length (undici refuses a stream whose
      // length differs from content-length, so the header is the bytes sent).
      bytes:
        init?.body instanceof Uint8Array
          ? init.body.byteLength
          : init?.body
            ? Number((init.headers as Record<string, string>)['content-length'])
            : 0,
    };
    calls.push(call);
    const response = await hook(call, () => fetch(input, init));
    call.status = response.status;
    call.location = response.headers.get('location');
    return response;
  }) as typeof fetch;
  return { http, calls };
}

const isFinalPut = (c: Call) => c.method === 'PUT' && new URL(c.url).searchParams.has('digest');
const isUploadStatus = (c: Call) => c.method === 'GET' && c.url.includes('/blobs/uploads/');
const count = (calls: Call[], method: string) => calls.filter((c) => c.method === method).length;

/** A response whose body fails after `limit` bytes, as when a connection drops mid-download. */
function cutAfter(response: Response, limit: number): Response {
  const reader = response.body!.getReader();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= limit) {
        await reader.cancel();
        controller.error(new TypeError('terminated: other side closed'));
        return;
      }
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const part = value.subarray(0, limit - sent);
      sent += part.byteLength;
      controller.enqueue(part);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

describe('OCI back end: large blobs, chunked and resumable', () => {
  // 5 MiB and a bit: 6 PATCHes of 1 MiB, the last one short; the source's 300 000-byte
  // chunks never line up with them.
  const bytes = new Uint8Array(randomBytes(5 * MiB + 12_345));
  const digest = sha256(bytes);
  const size = bytes.byteLength;
  const chunks = Math.ceil(size / MiB);
  const credentials = { username: USER, password: PASSWORD };
  const store = (http: typeof fetch = fetch, location = `${server.location}-${randomUUID().slice(0, 8)}`) =>
    new OciStore(location, credentials, http, { chunkBytes: MiB, retryBaseMs: 1 });
  const readBack = async (s: OciStore) => {
    const source = await s.openBlob('big-vgg', digest);
    expect(source?.size).toBe(size);
    return digestOf(source!);
  };

  it('a source that fits one chunk (even 1 byte) goes in one PUT, no PATCH', async () => {
    const { http, calls } = tap();
    const s = store(http);
    const one = new Uint8Array([7]);
    const oneDigest = `sha256:${createHash('sha256').update(one).digest('hex')}`;
    await s.putBlob('big-vgg', bytesSource(one), oneDigest);
    expect(count(calls, 'PATCH')).toBe(0);
    expect(calls.filter(isFinalPut).map((c) => c.bytes)).toEqual([1]);
    expect(Array.from((await s.getBlob('big-vgg', oneDigest))!)).toEqual([7]);
  });

  it('uploads a source in PATCHes of exactly chunkBytes, each following the last Location; reads it back streamed', async () => {
    const { http, calls } = tap();
    const s = store(http);
    await s.putBlob('big-vgg', bytesSource(bytes, 300_000), digest);
    const patches = calls.filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(chunks);
    for (const [i, patch] of patches.entries()) {
      const start = i * MiB;
      const end = Math.min(start + MiB, size) - 1;
      expect(patch.headers['content-range']).toBe(`${start}-${end}`);
      expect(patch.headers['content-length']).toBe(String(end - start + 1));
      expect(patch.headers['content-type']).toBe('application/octet-stream');
      expect(patch.bytes).toBe(end - start + 1);
      expect(patch.status).toBe(202);
      // Each PATCH goes to the Location of the response before it (POST or PATCH).
      const before = calls[calls.indexOf(patch) - 1]!;
      expect(new URL(patch.url).toString()).toBe(new URL(before.location!, patch.url).toString());
    }
    const finals = calls.filter(isFinalPut);
    expect(finals.map((c) => [new URL(c.url).searchParams.get('digest'), c.bytes, c.status])).toEqual([
      [digest, 0, 201],
    ]);
    expect(count(calls, 'POST')).toBe(1);

    calls.length = 0;
    expect(await s.hasBlob('big-vgg', digest)).toBe(true);
    const source = await s.openBlob('big-vgg', digest);
    expect(source?.size).toBe(size);
    expect(await digestOf(source!)).toBe(digest);
    // The first reading reused the GET that opened the blob; a second one asks again.
    expect(count(calls, 'GET')).toBe(1);
    expect(await digestOf(source!)).toBe(digest);
    expect(count(calls, 'GET')).toBe(2);
    const tail = [];
    for await (const chunk of source!.chunks(size - 1000)) tail.push(...chunk);
    expect(new Uint8Array(tail)).toEqual(bytes.subarray(size - 1000));
    expect(calls.at(-1)?.headers['range']).toBe(`bytes=${size - 1000}-`);
    expect(calls.at(-1)?.status).toBe(206);
    expect(sha256((await s.getBlob('big-vgg', digest))!)).toBe(digest);
    // Putting it again is a HEAD, nothing more.
    calls.length = 0;
    await s.putBlob('big-vgg', bytesSource(bytes), digest);
    expect(calls.map((c) => c.method)).toEqual(['HEAD']);
  });

  it('a redirected PATCH is refused with E_REGISTRY_PROTOCOL naming the status, not retried as a network failure', async () => {
    let patches = 0;
    const { http, calls } = tap(async (call, forward) =>
      call.method === 'PATCH' && ++patches === 2
        ? new Response(null, { status: 307, headers: { location: 'http://elsewhere.invalid/upload' } })
        : forward(),
    );
    const error = await store(http)
      .putBlob('big-vgg', bytesSource(bytes, 300_000), digest)
      .catch((e: unknown) => e);
    expect(isTransplantError(error, 'E_REGISTRY_PROTOCOL')).toBe(true);
    expect(String(error)).toContain('307');
    expect(count(calls, 'PATCH')).toBe(2);
    expect(calls.filter(isFinalPut)).toEqual([]);
  });

  it('a PATCH that fails before it is sent: the upload asks for its state and resumes where it was', async () => {
    let patches = 0;
    const { http, calls } = tap(async (call, forward) => {
      if (call.method === 'PATCH' && ++patches === 3) throw new TypeError('fetch failed');
      return forward();
    });
    const s = store(http);
    await s.putBlob('big-vgg', bytesSource(bytes, 300_000), digest);
    expect(calls.filter(isUploadStatus).map((c) => c.status)).toEqual([204]);
    expect(count(calls, 'POST')).toBe(1);
    const patched = calls.filter((c) => c.method === 'PATCH').reduce((n, c) => n + c.bytes, 0);
    expect(patched).toBeLessThan(1.5 * size);
    expect(patched).toBe(size + MiB); // every byte once, plus the PATCH that never left
    expect(await readBack(s)).toBe(digest);
  });

  it('a PATCH applied whose answer is lost: the registry refuses the stale session, the upload starts again and completes', async () => {
    let patches = 0;
    const { http, calls } = tap(async (call, forward) => {
      const response = await forward();
      if (call.method === 'PATCH' && ++patches === 3) {
        await response.body?.cancel();
        throw new TypeError('fetch failed: other side closed');
      }
      return response;
    });
    const s = store(http);
    await s.putBlob('big-vgg', bytesSource(bytes, 300_000), digest);
    // CNCF distribution 2.8 answers the stale session's status with 404 BLOB_UPLOAD_INVALID.
    expect(calls.filter(isUploadStatus).map((c) => c.status)).toEqual([404]);
    expect(count(calls, 'POST')).toBe(2);
    expect(calls.filter(isFinalPut).map((c) => c.status)).toEqual([201]);
    expect(await readBack(s)).toBe(digest);
  });

  it('a lost answer on a registry that keeps its session URL: resumes after the applied PATCH, hashing the prefix again', async () => {
    // Most registries besides CNCF distribution answer a status request on the session's
    // URL with what they hold: here the status request is sent where the lost answer pointed.
    let patches = 0;
    let lost: string | undefined;
    const { http, calls } = tap(async (call, forward) => {
      if (isUploadStatus(call) && lost) return fetch(lost, { headers: call.headers });
      const response = await forward();
      if (call.method === 'PATCH' && ++patches === 3) {
        lost = new URL(response.headers.get('location')!, call.url).toString();
        await response.body?.cancel();
        throw new TypeError('fetch failed: other side closed');
      }
      return response;
    });
    const s = store(http);
    await s.putBlob('big-vgg', bytesSource(bytes, 300_000), digest);
    expect(calls.filter(isUploadStatus).map((c) => c.status)).toEqual([204]);
    expect(count(calls, 'POST')).toBe(1);
    expect(calls.filter((c) => c.method === 'PATCH').reduce((n, c) => n + c.bytes, 0)).toBe(size);
    expect(calls.filter(isFinalPut).map((c) => c.status)).toEqual([201]);
    expect(await readBack(s)).toBe(digest);
  });

  it('a 503 on the final PUT: the upload checks its state and finishes without sending bytes again', async () => {
    let refused = false;
    const { http, calls } = tap(async (call, forward) => {
      if (isFinalPut(call) && !refused) {
        refused = true;
        return new Response('{"errors":[]}', { status: 503 });
      }
      return forward();
    });
    const s = store(http);
    await s.putBlob('big-vgg', bytesSource(bytes, 300_000), digest);
    expect(calls.filter(isFinalPut).map((c) => c.status)).toEqual([503, 201]);
    expect(calls.filter((c) => c.method === 'PATCH').reduce((n, c) => n + c.bytes, 0)).toBe(size);
    expect(await readBack(s)).toBe(digest);
  });

  it('opening a blob opens no body: the GET waits for the first read', async () => {
    const location = `${server.location}-${randomUUID().slice(0, 8)}`;
    await store(fetch, location).putBlob('big-vgg', bytes, digest);
    const { http, calls } = tap();
    const source = await store(http, location).openBlob('big-vgg', digest);
    expect(source!.size).toBe(size);
    expect(count(calls, 'GET')).toBe(0);
    expect(await digestOf(source!)).toBe(digest);
    expect(count(calls, 'GET')).toBe(1);
    expect(await store(http, location).openBlob('big-vgg', `sha256:${'0'.repeat(64)}`)).toBeUndefined();
  });

  it('a download cut mid-way continues with a Range request from the bytes received', async () => {
    const location = `${server.location}-${randomUUID().slice(0, 8)}`;
    await store(fetch, location).putBlob('big-vgg', bytes, digest);
    const cutAt = 2 * MiB + 17;
    let cuts = 0;
    const { http, calls } = tap(async (call, forward) => {
      const response = await forward();
      const whole = call.method === 'GET' && call.url.endsWith(`/blobs/${digest}`) && !call.headers['range'];
      if (!whole) return response;
      cuts++;
      return cutAfter(response, cutAt);
    });
    const s = store(http, location);
    // openBlob's own response is cut; so is getBlob's.
    expect(await readBack(s)).toBe(digest);
    expect(sha256((await s.getBlob('big-vgg', digest))!)).toBe(digest);
    const ranges = calls.filter((c) => c.headers['range']);
    expect(ranges.map((c) => [c.headers['range'], c.status])).toEqual([
      [`bytes=${cutAt}-`, 206],
      [`bytes=${cutAt}-`, 206],
    ]);
    expect(cuts).toBe(2);

    // Cut every time: a few continuations, then E_REGISTRY_UNREACHABLE, never short bytes.
    const always = tap(async (call, forward) =>
      call.method === 'GET' && call.url.endsWith(`/blobs/${digest}`)
        ? cutAfter(await forward(), MiB)
        : forward(),
    );
    const source = await store(always.http, location).openBlob('big-vgg', digest);
    expect(await codeOf(digestOf(source!))).toBe('E_REGISTRY_UNREACHABLE');
    // openBlob asks HEAD for the length; the GETs are the whole read and its continuations.
    expect(always.calls.filter((c) => c.method === 'GET').map((c) => c.headers['range'])).toEqual([
      undefined,
      `bytes=${MiB}-`,
      `bytes=${2 * MiB}-`,
      `bytes=${3 * MiB}-`,
    ]);
  });

  it('retries what may pass (network, 5xx, 429 after its Retry-After), never a 401, 400 or 404', async () => {
    // Wrong credentials: one request, E_AUTH.
    const refused = tap();
    const wrong = new OciStore(
      `${server.location}-auth`,
      { username: USER, password: 'wrong' },
      refused.http,
      {
        chunkBytes: MiB,
        retryBaseMs: 1,
      },
    );
    expect(await codeOf(wrong.putBlob('big-vgg', bytesSource(bytes, 300_000), digest))).toBe('E_AUTH');
    expect(await codeOf(wrong.readIndex('big-vgg'))).toBe('E_AUTH');
    expect(refused.calls.map((c) => [c.method, c.status])).toEqual([
      ['HEAD', 401],
      ['GET', 401],
    ]);

    // A 400 is final too; a 404 is an answer.
    const bad = tap(async () => new Response('', { status: 400 }));
    expect(await codeOf(store(bad.http).hasBlob('big-vgg', digest))).toBe('E_REGISTRY_PROTOCOL');
    expect(bad.calls).toHaveLength(1);
    const absent = tap();
    expect(await store(absent.http).hasBlob('big-vgg', digest)).toBe(false);
    expect(absent.calls).toHaveLength(1);

    // An unreachable registry: 5 tries, then E_REGISTRY_UNREACHABLE.
    const down = tap(async () => {
      throw new TypeError('fetch failed');
    });
    expect(await codeOf(store(down.http).hasBlob('big-vgg', digest))).toBe('E_REGISTRY_UNREACHABLE');
    expect(down.calls).toHaveLength(5);

    // 502, 503, 504 then an answer: the answer.
    let failures = 0;
    const flaky = tap(async (_, forward) =>
      failures < 3 ? new Response('', { status: [502, 503, 504][failures++]! }) : forward(),
    );
    expect(await store(flaky.http).hasBlob('big-vgg', digest)).toBe(false);
    expect(flaky.calls.map((c) => c.status)).toEqual([502, 503, 504, 404]);

    // 429 with Retry-After: 1 is waited on (the backoff alone would be 1 ms).
    let limited = false;
    const busy = tap(async (_, forward) => {
      if (limited) return forward();
      limited = true;
      return new Response('', { status: 429, headers: { 'retry-after': '1' } });
    });
    const started = Date.now();
    expect(await store(busy.http).hasBlob('big-vgg', digest)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(busy.calls.map((c) => c.status)).toEqual([429, 404]);
  });

  it('bytes that do not hash to the digest: E_DIGEST_MISMATCH, the session cancelled, no blob under either digest', async () => {
    const wrong = bytes.slice();
    wrong[4 * MiB + 5]! ^= 1;
    const { http, calls } = tap();
    const s = store(http);
    const error = await s.putBlob('big-vgg', bytesSource(wrong, 300_000), digest).catch((e: unknown) => e);
    expect(isTransplantError(error, 'E_DIGEST_MISMATCH')).toBe(true);
    expect(calls.some(isFinalPut)).toBe(false);
    expect(count(calls, 'PUT')).toBe(0);
    expect(count(calls, 'PATCH')).toBe(chunks);
    const cancel = calls.filter((c) => c.method === 'DELETE');
    expect(cancel.map((c) => c.status)).toEqual([204]);
    expect(await s.hasBlob('big-vgg', digest)).toBe(false);
    expect(await s.hasBlob('big-vgg', sha256(wrong))).toBe(false);
    expect(await s.openBlob('big-vgg', digest)).toBeUndefined();
    // The session is gone: its status reads as unknown.
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const status = await fetch(cancel[0]!.url, { headers: { authorization: auth } });
    expect(status.status).toBe(404);

    // Small bytes in memory are checked before anything is sent.
    calls.length = 0;
    expect(await codeOf(s.putBlob('big-vgg', wrong.subarray(0, 1000), digest))).toBe('E_DIGEST_MISMATCH');
    expect(calls).toEqual([]);
  });

  it('chunk size: TRANSPLANT_OCI_CHUNK_MB, else 16 MiB; a bad value is refused', async () => {
    expect(ociStoreOptions({ TRANSPLANT_OCI_CHUNK_MB: '2' })).toEqual({ chunkBytes: 2 * MiB });
    expect(ociStoreOptions({})).toEqual({});
    for (const bad of ['0', '-1', 'lots']) {
      expect(() => ociStoreOptions({ TRANSPLANT_OCI_CHUNK_MB: bad })).toThrow(/E_OPTIONS_INVALID/);
    }
    const saved = process.env['TRANSPLANT_OCI_CHUNK_MB'];
    process.env['TRANSPLANT_OCI_CHUNK_MB'] = '2';
    try {
      const { http, calls } = tap();
      const location = `${server.location}-${randomUUID().slice(0, 8)}`;
      await new OciStore(location, credentials, http).putBlob('big-vgg', bytes, digest);
      expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.bytes)).toEqual([
        2 * MiB,
        2 * MiB,
        size - 4 * MiB,
      ]);
    } finally {
      if (saved === undefined) delete process.env['TRANSPLANT_OCI_CHUNK_MB'];
      else process.env['TRANSPLANT_OCI_CHUNK_MB'] = saved;
    }
  });
});

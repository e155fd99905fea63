import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describeMachine } from '@transplant/core';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderStore, OciStore, Registry, moduleFixture } from '@transplant/registry';
import { DISTRIBUTION_BINARY, startLocalRegistry } from '@transplant/registry/testing';

/**
 * Publishes and fetches a ~10 MB module through each store and compares with the floor: a
 * plain file copy of the same bytes plus their sha256 (what any verified transfer must do).
 */
/** Options of `nx run bench:registry` (its schema.json holds the same names, types and defaults). */
export interface RegistryBenchOptions {
  readonly mb: number;
  readonly repeats: number;
  /** Write tools/bench/results/registry.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const REGISTRY_BENCH_DEFAULTS: RegistryBenchOptions = { mb: 10, repeats: 5, write: true };

export async function runRegistryBench(options: Partial<RegistryBenchOptions> = {}): Promise<void> {
  const values = { ...REGISTRY_BENCH_DEFAULTS, ...options };
  const floats = Math.round((Number(values.mb) * 1024 * 1024) / 4);
  const repeats = Number(values.repeats);
  const dir = await mkdtemp(join(tmpdir(), 'transplant-bench-registry-'));

  async function median(run: (i: number) => Promise<void>): Promise<number> {
    await run(-1);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await run(i);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  }

  const sample = moduleFixture({ name: 'bench-vgg', version: '1.0.0', values: floats });
  const bytes = sample.weights.byteLength;
  await writeFile(join(dir, 'source.bin'), sample.weights);
  const floor = await median(async (i) => {
    const target = join(dir, `copy-${i}.bin`);
    await copyFile(join(dir, 'source.bin'), target);
    createHash('sha256')
      .update(await readFile(target))
      .digest('hex');
  });

  async function roundTrip(make: () => Promise<Registry>): Promise<{ publishMs: number; fetchMs: number }> {
    const registry = await make();
    // Modules are made before the clock starts: only the publish is timed.
    const modules = Array.from({ length: repeats + 1 }, (_, n) =>
      moduleFixture({ name: 'bench-vgg', version: `1.0.${n}`, values: floats, seed: n }),
    );
    let n = 0;
    const publishMs = await median(async () => {
      await registry.publish(modules[n++]!);
    });
    const fetchMs = await median(async () => {
      await registry.fetch('bench-vgg@1.0.0');
    });
    return { publishMs, fetchMs };
  }

  /** The registry server's own cost for the same bytes: one monolithic upload and one download, no checks. */
  async function rawHttp(location: string, auth: string): Promise<{ publishMs: number; fetchMs: number }> {
    const url = new URL(location.replace('oci://', 'http://'));
    const base = `${url.protocol}//${url.host}`;
    const repo = `${url.pathname.slice(1)}/raw`;
    const headers = { authorization: auth };
    let digest = '';
    let n = 0;
    const publishMs = await median(async () => {
      const body = Uint8Array.from(sample.weights);
      body[0] = n++ & 255;
      digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
      const put = new URL(start.headers.get('location')!, base);
      put.searchParams.set('digest', digest);
      await fetch(put, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body,
      });
    });
    const fetchMs = await median(async () => {
      await (await fetch(`${base}/v2/${repo}/blobs/${digest}`, { headers })).arrayBuffer();
    });
    return { publishMs, fetchMs };
  }

  const results: Record<string, { publishMs: number; fetchMs: number } | { missing: string }> = {};
  results['folder'] = await roundTrip(
    async () => new Registry(new FolderStore(join(dir, `folder-${randomUUID()}`))),
  );
  if (existsSync(DISTRIBUTION_BINARY)) {
    const server = await startLocalRegistry({ bench: 'bench-password' });
    try {
      results['oci'] = await roundTrip(
        async () =>
          new Registry(new OciStore(server.location, { username: 'bench', password: 'bench-password' })),
      );
      results["raw HTTP to the same OCI registry (peer: the server's own cost)"] = await rawHttp(
        server.location,
        `Basic ${Buffer.from('bench:bench-password').toString('base64')}`,
      );
    } finally {
      await server.stop();
    }
  } else {
    results['oci'] = {
      missing: `${DISTRIBUTION_BINARY} is not installed (apt-get install docker-registry apache2-utils)`,
    };
  }
  await rm(dir, { recursive: true, force: true });

  const lines = [
    `module of ${(bytes / 1048576).toFixed(1)} MiB; median of ${repeats}; floor = file copy + sha256: ${floor.toFixed(1)} ms`,
    '',
    '| store | publish ms | publish / floor | fetch (verified) ms | fetch / floor |',
    '|---|---|---|---|---|',
    ...Object.entries(results).map(([store, r]) =>
      'missing' in r
        ? `| ${store} | missing: ${r.missing} | | | |`
        : `| ${store} | ${r.publishMs.toFixed(1)} | ${(r.publishMs / floor).toFixed(2)} | ${r.fetchMs.toFixed(1)} | ${(r.fetchMs / floor).toFixed(2)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.write) {
    const out = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(out, { recursive: true });
    const machine = {
      ...describeMachine(),
    };
    writeFileSync(
      `${out}/registry.json`,
      `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, bytes, repeats, floorMs: floor, results }, null, 2)}\n`,
    );
  }
}

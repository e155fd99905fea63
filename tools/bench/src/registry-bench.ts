import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeMachine } from '@transplant/core';
import {
  DISTRIBUTION_BINARY,
  VGG16_SHAPES,
  scaledShapes,
  startLocalRegistry,
  writeBigModule,
} from '@transplant/registry/testing';

/**
 * Publishes and fetches a VGG-16-sized module (553 MB of float32 weights, generated with random
 * values) through each store, every operation in a fresh process whose peak resident memory is
 * read, against the floor of any verified transfer of the same file: `cp` + `sha256sum`.
 */
/** Options of `nx run bench:registry` (its schema.json holds the same names, types and defaults). */
export interface RegistryBenchOptions {
  /** Module size in MiB; 528 or more: VGG-16's exact tensors. */
  readonly mb: number;
  readonly repeats: number;
  /** Write tools/bench/results/registry.{json,md} (`--no-write`: print only). */
  readonly write: boolean;
}

export const REGISTRY_BENCH_DEFAULTS: RegistryBenchOptions = { mb: 528, repeats: 3, write: true };

const run = promisify(execFile);
const CHILD = fileURLToPath(
  new URL('../../../packages/registry/src/testing/big-module-child.ts', import.meta.url),
);
const USER = 'bench';
const PASSWORD = 'bench-password';

interface Measured {
  readonly ms: number;
  readonly peakRssMiB: number;
}
interface Row {
  readonly publish: Measured;
  readonly fetch: Measured;
  readonly fetchIntoMemory?: Measured;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runRegistryBench(options: Partial<RegistryBenchOptions> = {}): Promise<void> {
  const values = { ...REGISTRY_BENCH_DEFAULTS, ...options };
  const mb = Number(values.mb);
  const repeats = Number(values.repeats);
  const dir = await mkdtemp(join(tmpdir(), 'transplant-bench-registry-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const moduleDir = join(dir, 'module');
    const module = writeBigModule(moduleDir, {
      name: 'bench-vgg',
      version: '1.0.0',
      shapes: mb >= 528 ? VGG16_SHAPES : scaledShapes(mb),
    });
    const source = join(moduleDir, 'weights.bin');
    log(`module of ${(module.size / 2 ** 20).toFixed(1)} MiB written; ${repeats} repeats of each operation`);

    /** Median wall time of a shell command, over `repeats` runs after one warm-up. */
    async function shell(script: (i: number) => string): Promise<number> {
      const times: number[] = [];
      for (let i = -1; i < repeats; i++) {
        const t0 = performance.now();
        await run('sh', ['-c', script(i)]);
        if (i >= 0) times.push(performance.now() - t0);
      }
      return median(times);
    }
    const floorMs = await shell(
      (i) => `cp ${source} ${dir}/cp-${i} && sha256sum ${dir}/cp-${i} >/dev/null && rm ${dir}/cp-${i}`,
    );
    const syncedFloorMs = await shell(
      (i) =>
        `cp ${source} ${dir}/cp-${i} && sync ${dir}/cp-${i} && sha256sum ${dir}/cp-${i} >/dev/null && rm ${dir}/cp-${i}`,
    );
    log(`floor: cp + sha256sum ${floorMs.toFixed(0)} ms; with sync ${syncedFloorMs.toFixed(0)} ms`);

    /** Runs one operation in a fresh process; its own clock and peak memory. */
    async function child(env: Record<string, string>, ...args: string[]): Promise<Measured> {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, ...args], {
        env: {
          ...process.env,
          TRANSPLANT_REGISTRY_USERNAME: USER,
          TRANSPLANT_REGISTRY_PASSWORD: PASSWORD,
          ...env,
        },
      });
      const m = JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured & {
        error?: string;
        message?: string;
      };
      if (m.error) throw new Error(`${args[0]}: ${m.error} ${m.message}`);
      return { ms: m.ms, peakRssMiB: m.peakRssMiB };
    }
    /** Median time and the largest peak over the repeats. */
    const summarise = (ms: Measured[]): Measured => ({
      ms: median(ms.map((m) => m.ms)),
      peakRssMiB: Math.max(...ms.map((m) => m.peakRssMiB)),
    });

    async function store(location: (i: number) => string): Promise<Row> {
      const publish: Measured[] = [];
      const fetch: Measured[] = [];
      const intoMemory: Measured[] = [];
      for (let i = -1; i < repeats; i++) {
        // A fresh registry and blob cache each time: every publish writes, every fetch reads remotely.
        const env = { TRANSPLANT_CACHE: join(dir, `cache-${i}`) };
        const p = await child(env, 'publish', location(i), moduleDir);
        const f = await child(env, 'fetch', location(i), 'bench-vgg@1.0.0', join(dir, `fetched-${i}`));
        const m = await child(
          { TRANSPLANT_CACHE: join(dir, `cache-m-${i}`) },
          'fetch-memory',
          location(i),
          'bench-vgg@1.0.0',
        );
        await rm(join(dir, `fetched-${i}`), { recursive: true, force: true });
        await rm(join(dir, `cache-${i}`), { recursive: true, force: true });
        await rm(join(dir, `cache-m-${i}`), { recursive: true, force: true });
        if (!location(i).startsWith('oci://')) await rm(location(i), { recursive: true, force: true });
        if (i < 0) continue;
        publish.push(p);
        fetch.push(f);
        intoMemory.push(m);
        log(
          `${location(i)}: publish ${p.ms.toFixed(0)} ms, fetch ${f.ms.toFixed(0)} ms, into memory ${m.ms.toFixed(0)} ms`,
        );
      }
      return { publish: summarise(publish), fetch: summarise(fetch), fetchIntoMemory: summarise(intoMemory) };
    }

    const results: Record<string, Row | { missing: string }> = {};
    results['folder'] = await store((i) => join(dir, `folder-${i}`));
    if (existsSync(DISTRIBUTION_BINARY)) {
      const server = await startLocalRegistry({ [USER]: PASSWORD });
      try {
        results['oci (local distribution 2.8, chunked upload)'] = await store(
          (i) => `${server.location}-${i + 1}`,
        );
        results["raw HTTP to the same registry (peer: the server's own cost, no checks)"] = await rawHttp(
          server.location,
          source,
          module.size,
          repeats,
        );
      } finally {
        await server.stop();
      }
    } else {
      results['oci'] = {
        missing: `${DISTRIBUTION_BINARY} is not installed (apt-get install docker-registry apache2-utils)`,
      };
    }

    const folder = results['folder'] as Row;
    const goal = Math.max(folder.publish.ms, folder.fetch.ms) / floorMs;
    const machine = describeMachine();
    const cell = (m: Measured | undefined, withRatio = true) =>
      m
        ? `${m.ms.toFixed(0)} | ${withRatio ? `${(m.ms / floorMs).toFixed(2)} | ` : ''}${m.peakRssMiB ? m.peakRssMiB.toFixed(0) : '–'}`
        : '– | – | –';
    const lines = [
      '# Registry: a VGG-16-sized module through each store',
      '',
      `Regenerate: \`npx nx run bench:registry\` (options --mb, --repeats). Module: ${(module.size / 2 ** 20).toFixed(1)} MiB (${module.size} bytes${mb >= 528 ? ", VGG-16's 32 tensors" : ''}), random weights; median of ${repeats} runs, each in a fresh process (peak RSS: the largest over the runs, start-up of Node and tsx included). Machine: ${machine.cpu} (${machine.threads} threads).`,
      '',
      `Floor: \`cp\` + \`sha256sum\` of the same file, **${floorMs.toFixed(0)} ms**; with \`sync\` of the copy (the folder store fsyncs every blob): ${syncedFloorMs.toFixed(0)} ms.`,
      '',
      '| store | publish ms | × floor | peak RSS MiB | fetch to a folder ms | × floor | peak RSS MiB | fetch into memory ms | × floor | peak RSS MiB |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...Object.entries(results).map(([name, r]) =>
        'missing' in r
          ? `| ${name} | missing: ${r.missing} | | | | | | | | |`
          : `| ${name} | ${cell(r.publish)} | ${cell(r.fetch)} | ${cell(r.fetchIntoMemory)} |`,
      ),
      '',
      `Goal (folder store, publish and fetch ≤ 2 × floor): **${goal <= 2 ? 'met' : 'not met'}** (${goal.toFixed(2)} ×). Memory bound (peak RSS < 1,536 MiB for publish and fetch on both stores): **${
        Object.values(results).every(
          (r) =>
            'missing' in r ||
            (r.publish.peakRssMiB < 1536 &&
              r.fetch.peakRssMiB < 1536 &&
              (r.fetchIntoMemory?.peakRssMiB ?? 0) < 1536),
        )
          ? 'met'
          : 'not met'
      }**.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values.write) {
      const out = fileURLToPath(new URL('../results', import.meta.url));
      mkdirSync(out, { recursive: true });
      writeFileSync(
        `${out}/registry.json`,
        `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, bytes: module.size, repeats, floorCommand: 'cp + sha256sum', floorMs, syncedFloorMs, goal: { ratio: goal, met: goal <= 2 }, results }, null, 2)}\n`,
      );
      writeFileSync(`${out}/registry.md`, `${lines.join('\n')}\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One monolithic upload and one download of the same file with no checks: what the server itself costs. */
async function rawHttp(location: string, file: string, size: number, repeats: number): Promise<Row> {
  const url = new URL(location.replace('oci://', 'http://'));
  const base = `${url.protocol}//${url.host}`;
  const repo = `${url.pathname.slice(1)}/raw`;
  const headers = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
  const fh = await open(file);
  const body = Buffer.alloc(size);
  await fh.read(body, 0, size, 0);
  await fh.close();
  const publish: number[] = [];
  const fetchMs: number[] = [];
  for (let i = -1; i < repeats; i++) {
    body[0] = (i + 1) & 255;
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    let t0 = performance.now();
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
    const put = new URL(start.headers.get('location')!, base);
    put.searchParams.set('digest', digest);
    await fetch(put, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body,
    });
    if (i >= 0) publish.push(performance.now() - t0);
    t0 = performance.now();
    const response = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { headers });
    for await (const _ of response.body!) {
      // read and drop
    }
    if (i >= 0) fetchMs.push(performance.now() - t0);
  }
  return { publish: { ms: median(publish), peakRssMiB: 0 }, fetch: { ms: median(fetchMs), peakRssMiB: 0 } };
}
